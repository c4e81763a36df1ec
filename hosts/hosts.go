package hosts

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// developmentHosts are the hosts Config.Development allows when
// Config.Allowed is empty, as Django does with DEBUG=True and an empty
// ALLOWED_HOSTS: localhost and its subdomains, and the loopback addresses.
var developmentHosts = []string{".localhost", "127.0.0.1", "[::1]"}

// Config is the allow-list of hosts (Django's ALLOWED_HOSTS). The zero
// Config allows no host at all: every request is refused with 400 until
// the site's names are listed. That is the safe failure for a forgotten
// setting; Django's empty list behaves the same outside DEBUG.
type Config struct {
	// Allowed lists the hosts this site answers to, as Django's
	// ALLOWED_HOSTS: an exact name ("example.com"), a name with a leading
	// dot that matches the name itself and every subdomain at any depth
	// (".example.com"), an IPv4 address ("192.0.2.1") or a bracketed IPv6
	// address ("[2001:db8::1]", compared as a string, so "[::1]" does not
	// match "[0:0:0:0:0:0:0:1]"), all case-insensitive. The request's
	// port and one trailing dot are ignored when matching.
	//
	// "*" allows every syntactically valid host, and only with
	// AllowInsecureAnyHost. Entries that could never match (with a port,
	// a trailing dot, an underscore, spaces, empty) are an error naming
	// the entry; Django accepts them and silently never matches. Empty
	// (the default): no host is allowed (see Development).
	Allowed []string `toml:"allowed"`

	// AllowInsecureAnyHost permits "*" in Allowed. A site that answers to
	// any Host lets an attacker choose the host of its absolute URLs
	// (password-reset links, redirects) and its cache keys. False (the
	// default): "*" is a configuration error.
	AllowInsecureAnyHost bool `toml:"allow_insecure_any_host"`

	// Development allows ".localhost" (localhost and its subdomains),
	// "127.0.0.1" and "[::1]" when Allowed is empty, as Django does with DEBUG=True and
	// an empty ALLOWED_HOSTS. When Allowed is not empty it has no effect:
	// as in Django, a listed site answers to exactly its list. False (the
	// default): an empty Allowed allows nothing.
	Development bool `toml:"development"`

	// Logger receives one "disallowed_host" event (Info) per refused
	// request. Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("hosts: invalid configuration")

// ErrDisallowedHost is wrapped by every *HostError.
var ErrDisallowedHost = errors.New("hosts: disallowed host")

// HostError reports a request host that is refused: not syntactically a
// host, or not in the allow-list. Its message holds Django's DisallowedHost
// text, with the host quoted as Python's repr does; it holds attacker
// input, so it belongs in logs, never in a response.
type HostError struct {
	Host   string // the raw host, as received
	Domain string // the lower-cased domain without port; "" when Host is not a valid host
}

// Error returns "hosts: disallowed host: " followed by DjangoMessage.
func (e *HostError) Error() string { return "hosts: disallowed host: " + e.DjangoMessage() }

// Is makes errors.Is(err, ErrDisallowedHost) true.
func (e *HostError) Is(target error) bool { return target == ErrDisallowedHost }

// DjangoMessage returns the message of Django's DisallowedHost exception
// for this host.
func (e *HostError) DjangoMessage() string {
	msg := "Invalid HTTP_HOST header: " + pyRepr(e.Host) + "."
	if e.Domain != "" {
		return msg + " You may need to add " + pyRepr(e.Domain) + " to ALLOWED_HOSTS."
	}
	return msg + " The domain name provided is not valid according to RFC 1034/1035."
}

// Reason returns the reason logged for this refusal: "invalid_host" when
// the host is not syntactically valid, "host_not_allowed" otherwise.
func (e *HostError) Reason() string {
	if e.Domain == "" {
		return "invalid_host"
	}
	return "host_not_allowed"
}

// Validator checks request hosts against an allow-list. Build it with New;
// it is immutable and safe for concurrent use.
type Validator struct {
	exact  []string // lower-case exact names and bracketed addresses
	suffix []string // lower-case patterns with their leading dot
	any    bool
	logger *slog.Logger
}

// New validates c and returns a Validator. The error wraps ErrConfig; when
// entries can never match it is an *EntryError naming them.
func New(c Config) (*Validator, error) {
	v := &Validator{logger: c.Logger}
	if v.logger == nil {
		v.logger = slog.Default()
	}
	allowed := c.Allowed
	if len(allowed) == 0 && c.Development {
		allowed = developmentHosts
	}
	var bad []string
	for _, e := range allowed {
		switch {
		case e == "*":
			if !c.AllowInsecureAnyHost {
				return nil, fmt.Errorf("%w: allowed entry \"*\" needs allow_insecure_any_host: a site that answers to any host lets clients choose the host of its absolute URLs", ErrConfig)
			}
			v.any = true
		case validPattern(e):
			p := strings.ToLower(e)
			if p[0] == '.' {
				v.suffix = append(v.suffix, p)
			} else {
				v.exact = append(v.exact, p)
			}
		default:
			bad = append(bad, e)
		}
	}
	if len(bad) > 0 {
		return nil, &EntryError{Entries: bad}
	}
	return v, nil
}

// Validate reports whether c is usable; see New.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

// EntryError reports Allowed entries that could never match a request
// host. Django accepts such entries and never matches them; Bulwark
// refuses to start so that the mistake is seen.
type EntryError struct {
	Entries []string
}

func (e *EntryError) Error() string {
	q := make([]string, len(e.Entries))
	for i, s := range e.Entries {
		q[i] = strconv.Quote(s)
	}
	return "hosts: invalid configuration: allowed entries can never match a request host (no port, no trailing dot, no '_' or spaces; IPv6 in brackets): " + strings.Join(q, ", ")
}

// Is makes errors.Is(err, ErrConfig) true.
func (e *EntryError) Is(target error) bool { return target == ErrConfig }

// validPattern reports whether an allow-list entry can match some request
// host: with its optional leading dot removed, it must be exactly what
// SplitDomainPort returns for some host. So no port, no trailing dot, and
// only Django's host characters.
func validPattern(e string) bool {
	d := strings.TrimPrefix(e, ".")
	if d == "" || d[0] == '.' {
		return false
	}
	dom, port, ok := splitRaw(d)
	return ok && port == "" && len(dom) == len(d) && d[len(d)-1] != '.'
}

// Check validates the host of r (trustedproxy.Host: the Host header, or a
// trusted proxy's forwarded host) and returns nil or a *HostError. It does
// not record the result; Handler does.
func (v *Validator) Check(r *http.Request) error {
	return v.check(trustedproxy.Host(r))
}

// CheckHost validates a raw host value (as from a Host header: a name or
// bracketed IPv6 address with an optional port) and returns nil or a
// *HostError. Use it where a host arrives by another way than a request,
// for example to decide whether to obtain a certificate for a TLS server
// name. It does not allocate when the host is allowed.
func (v *Validator) CheckHost(host string) error { return v.check(host) }

func (v *Validator) check(raw string) error {
	d, _, ok := splitRaw(raw)
	if ok && len(d) > 0 && d[len(d)-1] == '.' {
		d = d[:len(d)-1]
	}
	if !ok || d == "" {
		return &HostError{Host: raw}
	}
	if v.allowed(d) {
		return nil
	}
	return &HostError{Host: raw, Domain: lower(d)}
}

// allowed matches a domain (any case, no port, no trailing dot) against
// the allow-list without allocating.
func (v *Validator) allowed(d string) bool {
	if v.any {
		return true
	}
	for _, p := range v.exact {
		if equalFoldLower(d, p) {
			return true
		}
	}
	for _, p := range v.suffix {
		// ".example.com" matches "example.com" and "*.example.com": the
		// suffix includes the dot, so "evilexample.com" does not match.
		// (Like Python's endswith, the suffix also matches itself.)
		if equalFoldLower(d, p[1:]) || len(d) >= len(p) && equalFoldLower(d[len(d)-len(p):], p) {
			return true
		}
	}
	return false
}

// equalFoldLower compares s (any ASCII case) with lowered (lower-case),
// folding only s's ASCII upper-case letters: Python's s.lower() == lowered
// for the ASCII strings that can ever match (a host is ASCII once
// validated; a pattern's non-ASCII letters never match one).
func equalFoldLower(s, lowered string) bool {
	if len(s) != len(lowered) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lowered[i] {
			return false
		}
	}
	return true
}

// Handler returns a handler that validates the host of every request
// before anything else reads it. An allowed request continues with its
// host recorded as validated in the per-request record (see Host); any
// other is refused with 400 Bad Request (body: the status text, never the
// host) and one "disallowed_host" refusal event, and next is not called.
func (v *Validator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqstate.Ensure(r)
		raw := trustedproxy.Host(r)
		if err := v.check(raw); err != nil {
			v.refuse(w, r, err.(*HostError))
			return
		}
		reqstate.SetValidatedHost(rec, raw)
		next.ServeHTTP(w, r)
	})
}

func (v *Validator) refuse(w http.ResponseWriter, r *http.Request, err *HostError) {
	// The host is attacker input: the event quotes and bounds it (no
	// control bytes reach the log, no log flooding through a 1 MB header).
	refusal.Log(v.logger, r, "disallowed host", "disallowed_host", err.Reason())
	http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
}

// Host returns the host of r as validated by the Handler: the raw value
// unchanged, as Django's get_host returns it (original case, port and
// trailing dot kept), and true. It returns "", false when no hosts Handler
// validated r; callers must then not use any host at all.
func Host(r *http.Request) (string, bool) {
	return reqstate.From(r).ValidatedHost()
}
