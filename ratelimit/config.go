package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/pathset"
)

// Defaults used when a Rule field is zero.
const (
	// DefaultTimeout bounds one store call.
	DefaultTimeout = 250 * time.Millisecond
	// DefaultIPv6Prefix groups IPv6 clients by /64: one subscriber usually
	// holds a whole /64, so counting single addresses would give each
	// client 2^64 allowances.
	DefaultIPv6Prefix = 64
	// DefaultIPv4Prefix counts each IPv4 address on its own.
	DefaultIPv4Prefix = 32
	// MaxRules bounds Config.Rules.
	MaxRules = 64
	// MaxBurst bounds Rule.Burst.
	MaxBurst = 1_000_000
	// MaxTimeout bounds Rule.Timeout: a longer wait would hold requests
	// through a store outage, which the timeout exists to prevent.
	MaxTimeout = 10 * time.Second
)

// Rule is one rate limit: the requests it applies to, the rate, and what
// identifies a client. In the gateway's file each is a [[rate_limit]]
// table.
type Rule struct {
	// Name identifies the rule in events and metrics and namespaces its
	// keys in the store: gateways sharing a store share the counts of
	// rules with the same name. Required; [a-z0-9_-], at most 64 bytes;
	// unique.
	Name string `toml:"name"`
	// Paths are the request paths the rule applies to, in the one path
	// grammar of the configuration (package internal/pathset): "/login"
	// is that path only, "/accounts/" that path and everything below it,
	// "/" every path. A request is under the rule when its path is, either
	// cleaned of dot segments and doubled slashes or as sent. Required.
	Paths []string `toml:"paths"`
	// Methods restricts the rule to these methods ("POST"). Empty means
	// every method.
	Methods []string `toml:"methods"`
	// Rate is "N/s", "N/m" or "N/h": the sustained rate allowed per
	// client. Required.
	Rate string `toml:"rate"`
	// Burst is how many requests a client may make at once before the
	// rate applies. Zero means N (a client may spend a whole period's
	// allowance at once: "5/m" allows 5 requests in a row, then one every
	// 12 s). At most 1 000 000.
	Burst int `toml:"burst"`
	// Key says what identifies a client: "ip" (the default: the client
	// address the trusted-proxy layer established, never a forwarded
	// header from an untrusted peer), "header:NAME" or "cookie:NAME" (the
	// value of that header or cookie, hashed, for identifiers the
	// application issues, such as an API key). A request without the
	// header or cookie is counted by IP, so leaving it out gains nothing;
	// but a client choosing the value chooses its bucket, so such a rule
	// only limits honest clients: pair it with an "ip" rule.
	Key string `toml:"key"`
	// IPv4Prefix and IPv6Prefix group client addresses by network (for
	// "ip" keys and the IP fallback). Zero means 32 (each IPv4 address)
	// and 64 (each IPv6 /64, what one subscriber usually holds).
	IPv4Prefix int `toml:"ipv4_prefix"`
	IPv6Prefix int `toml:"ipv6_prefix"`
	// CountStatuses turns on failed-login mode: a request is counted only
	// when the answer's status is in the list (Django's LoginView answers
	// a failed sign-in with 200, re-rendering the form, and a successful
	// one with 302), so that brute force is limited and users who sign in
	// are not. Each request is counted before it runs (so concurrent
	// attempts cannot overshoot the limit) and refunded when its status
	// is not in the list. Empty means every request counts.
	CountStatuses []int `toml:"count_statuses"`
	// Timeout bounds one store call: the wait for it, even when the
	// store answers later than the context it was given. Zero means
	// 250ms; at most 10s. A call that fails or times out is decided by
	// FailClosed, as are the request's later rules, which then make no
	// call.
	Timeout time.Duration `toml:"timeout"`
	// FailClosed refuses requests (503) while the store cannot decide.
	// False (the default) lets them through, with a warning (at most one
	// a second) and a failed_open decision for metrics: a rate limit
	// protects against abuse, and closing would turn an outage of the
	// store into an outage of the site. Set it for a rule whose purpose
	// is worth that, such as a failed-login rule on a site where
	// password guessing is the greater risk.
	FailClosed bool `toml:"fail_closed"`
}

// WithDefaults returns a copy of rules with every zero field that has a
// default filled in (burst, key, prefixes, timeout): what the rules
// actually do. Invalid rules are copied as they are.
func WithDefaults(rules []Rule) []Rule {
	if rules == nil {
		return nil
	}
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Paths, r.Methods, r.CountStatuses = slices.Clone(r.Paths), slices.Clone(r.Methods), slices.Clone(r.CountStatuses)
		if ru, err := r.compile(); err == nil {
			r.Burst = ru.limit.Burst
			r.IPv4Prefix, r.IPv6Prefix = ru.v4, ru.v6
			r.Timeout = ru.timeout
			if r.Key == "" {
				r.Key = "ip"
			}
		}
		out[i] = r
	}
	return out
}

// Decision is the outcome of one rule for one request, as counted by an
// Observer.
type Decision uint8

// The decisions.
const (
	Allowed      Decision = iota // counted and let through
	Limited                      // refused with 429
	FailedOpen                   // the store failed; let through
	FailedClosed                 // the store failed; refused with 503
	Refunded                     // failed-login mode: a request whose status did not count was given back
)

var decisionNames = [...]string{"allowed", "limited", "failed_open", "failed_closed", "refunded"}

// String returns the decision's snake_case name, as metrics label it.
func (d Decision) String() string {
	if int(d) < len(decisionNames) {
		return decisionNames[d]
	}
	return "unknown"
}

// Config configures a Limiter. The zero Config limits nothing.
type Config struct {
	// Rules are the limits; every rule that matches a request applies,
	// and the first that refuses it decides the answer.
	Rules []Rule `toml:"rules"`
	// Store keeps the counts. Nil means a new MemoryStore (this process
	// only). Use ratelimit/redisstore or ratelimit/pgstore to share limits
	// between processes.
	Store Store `toml:"-"`
	// Observe, if set, is called once per rule decision (from the
	// request's goroutine: keep it fast), for metrics.
	Observe func(rule string, d Decision) `toml:"-"`
	// Logger receives one Info event per refused request and the store
	// outage warnings. Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("ratelimit: invalid configuration")

// ErrInvalidConfig is ErrConfig.
//
// Deprecated: use ErrConfig, the name every package uses.
var ErrInvalidConfig = ErrConfig

// Validate reports the first problem in c.
func (c Config) Validate() error {
	_, err := compile(c.Rules)
	return err
}

type keyKind uint8

const (
	keyIP keyKind = iota
	keyHeader
	keyCookie
)

type rule struct {
	name       string
	paths      pathset.Set
	methods    []string
	rate       Rate
	limit      Limit
	kind       keyKind
	keyName    string // canonical header name or cookie name
	v4, v6     int
	counts     []int
	timeout    time.Duration
	failClosed bool
}

func (ru *rule) matches(r *http.Request) bool {
	if len(ru.methods) > 0 && !slices.Contains(ru.methods, r.Method) {
		return false
	}
	p := r.URL.Path
	if p == "" {
		p = "/"
	}
	// Cleaned, as a router that normalises paths dispatches it, or as
	// sent, as one that does not (Django behind gunicorn): a rule applies
	// when either spelling is under it.
	return ru.paths.Match(p) || !pathset.IsClean(p) && ru.paths.MatchAsSent(p)
}

func (ru *rule) counted(status int) bool {
	return ru.counts == nil || slices.Contains(ru.counts, status)
}

func compile(rules []Rule) ([]rule, error) {
	if len(rules) > MaxRules {
		return nil, fmt.Errorf("%w: %d rules, at most %d", ErrConfig, len(rules), MaxRules)
	}
	out := make([]rule, 0, len(rules))
	seen := map[string]bool{}
	for i, rl := range rules {
		ru, err := rl.compile()
		if err != nil {
			return nil, fmt.Errorf("%w: rule %d (%q): %w", ErrConfig, i, rl.Name, err)
		}
		if seen[ru.name] {
			return nil, fmt.Errorf("%w: rule %d: duplicate name %q", ErrConfig, i, rl.Name)
		}
		seen[ru.name] = true
		out = append(out, ru)
	}
	return out, nil
}

func (rl Rule) compile() (rule, error) {
	ru := rule{name: rl.Name, timeout: rl.Timeout, failClosed: rl.FailClosed}
	if !validName(rl.Name) {
		return rule{}, errors.New("name is required: [a-z0-9_-], at most 64 bytes")
	}
	if len(rl.Paths) == 0 {
		return rule{}, errors.New(`paths is required (["/"] for every path)`)
	}
	ps, err := pathset.Parse(rl.Paths)
	if err != nil {
		return rule{}, fmt.Errorf("paths: %w", err)
	}
	ru.paths = ps
	for _, m := range rl.Methods {
		if m == "" || strings.TrimLeft(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return rule{}, fmt.Errorf("methods: %q is not an upper-case method name", m)
		}
		ru.methods = append(ru.methods, m)
	}
	if rl.Rate == "" {
		return rule{}, errors.New(`rate is required ("N/s", "N/m" or "N/h")`)
	}
	if ru.rate, err = ParseRate(rl.Rate); err != nil {
		// "rate = "5/q": the period is s, m or h", without the package's
		// prefix again; errors.Is still finds ErrInvalidRate.
		return rule{}, &keyError{msg: "rate = " + strings.TrimPrefix(err.Error(), ErrInvalidRate.Error()+": "), err: err}
	}
	burst := rl.Burst
	switch {
	case burst < 0 || burst > MaxBurst:
		return rule{}, fmt.Errorf("burst = %d: from 1 to %d (0 means the rate's count)", burst, MaxBurst)
	case burst == 0:
		burst = min(ru.rate.N, MaxBurst)
	}
	ru.limit = Limit{Interval: ru.rate.Interval(), Burst: burst}
	switch kind, name, _ := strings.Cut(rl.Key, ":"); {
	case rl.Key == "" || rl.Key == "ip":
		ru.kind = keyIP
	case kind == "header" && validToken(name):
		ru.kind, ru.keyName = keyHeader, textproto.CanonicalMIMEHeaderKey(name)
	case kind == "cookie" && validToken(name):
		ru.kind, ru.keyName = keyCookie, name
	default:
		return rule{}, fmt.Errorf(`key = %q: write "ip", "header:NAME" or "cookie:NAME"`, rl.Key)
	}
	ru.v4, ru.v6 = rl.IPv4Prefix, rl.IPv6Prefix
	if ru.v4 == 0 {
		ru.v4 = DefaultIPv4Prefix
	}
	if ru.v6 == 0 {
		ru.v6 = DefaultIPv6Prefix
	}
	if ru.v4 < 8 || ru.v4 > 32 {
		return rule{}, fmt.Errorf("ipv4_prefix = %d: from 8 to 32", ru.v4)
	}
	if ru.v6 < 16 || ru.v6 > 128 {
		return rule{}, fmt.Errorf("ipv6_prefix = %d: from 16 to 128", ru.v6)
	}
	for _, st := range rl.CountStatuses {
		if st < 100 || st > 599 {
			return rule{}, fmt.Errorf("count_statuses: %d is not an HTTP status", st)
		}
		ru.counts = append(ru.counts, st)
	}
	switch {
	case ru.timeout < 0 || ru.timeout > MaxTimeout:
		return rule{}, fmt.Errorf("timeout = %s: from 1ms to %s (0 means %s)", ru.timeout, MaxTimeout, DefaultTimeout)
	case ru.timeout == 0:
		ru.timeout = DefaultTimeout
	}
	return ru, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// validToken reports whether s is an RFC 9110 token (header and cookie
// names), at most 128 bytes.
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// keyError is the problem of one key of a rule, its message free of the
// package prefix the wrapped error's own text begins with.
type keyError struct {
	msg string
	err error
}

func (e *keyError) Error() string { return e.msg }
func (e *keyError) Unwrap() error { return e.err }
