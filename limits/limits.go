package limits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/limitsrefusal"
	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

func init() { limitsrefusal.Write = refuse }

// Django's defaults, used when a Config field is zero.
const (
	// DefaultMaxBodyBytes caps a whole request body. Django has no such
	// setting (it defers to the web server); Bulwark enforces one.
	DefaultMaxBodyBytes = 32 << 20
	// DefaultMaxFormBytes is DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB).
	DefaultMaxFormBytes = 2621440
	// DefaultMaxFields is DATA_UPLOAD_MAX_NUMBER_FIELDS.
	DefaultMaxFields = 1000
	// DefaultMaxFiles is DATA_UPLOAD_MAX_NUMBER_FILES.
	DefaultMaxFiles = 100
	// DefaultMaxPartHeaderBytes is Django's MAX_TOTAL_HEADER_SIZE for one
	// multipart part's header block.
	DefaultMaxPartHeaderBytes = 1024
	// DefaultFileMemoryThreshold is FILE_UPLOAD_MAX_MEMORY_SIZE.
	DefaultFileMemoryThreshold = 2621440
)

// Unlimited, in a Values field, disables that limit (Django's None). It
// weakens the protection it switches off; a byte cap of Unlimited still
// leaves MaxBodyBytes in force unless that is Unlimited too.
const Unlimited = -1

// Values is one set of limit settings as written in configuration. A zero
// field means "inherit": the top-level Config inherits Django's default, a
// Route inherits the top-level value. A negative field (Unlimited) disables
// the limit.
type Values struct {
	// MaxBodyBytes caps the whole request body in bytes, enforced while it
	// streams (a missing or false Content-Length cannot bypass it) and
	// before reading when the declared Content-Length is larger. Zero means
	// 32 MiB (Django has no equivalent: default differs). Exceeding it is
	// a 413.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxFormBytes caps non-file form data: a urlencoded or other
	// non-multipart body, and the sum of len(name)+len(value)+2 of
	// multipart fields (DATA_UPLOAD_MAX_MEMORY_SIZE). Zero means 2.5 MiB.
	// Exceeding it is a 400.
	MaxFormBytes int64 `toml:"max_form_bytes"`
	// MaxFields caps the number of query-string and form fields
	// (DATA_UPLOAD_MAX_NUMBER_FIELDS), counted as Django counts them:
	// 1 + count("&") of a non-empty urlencoded string, and each non-file
	// multipart part. Zero means 1000. Exceeding it is a 400.
	MaxFields int `toml:"max_fields"`
	// MaxFiles caps the number of multipart file parts
	// (DATA_UPLOAD_MAX_NUMBER_FILES). Zero means 100. Exceeding it is a
	// 400.
	MaxFiles int `toml:"max_files"`
	// MaxFileBytes caps one uploaded file. Zero means the effective
	// MaxBodyBytes (Django has no per-file cap). Exceeding it is a 413.
	MaxFileBytes int64 `toml:"max_file_bytes"`
	// MaxPartHeaderBytes caps one multipart part's header block, its
	// terminating blank line included. Zero means 1024, as Django.
	// Exceeding it is a 400. Unlimited still stops at the reader's 64 KiB
	// buffer.
	MaxPartHeaderBytes int `toml:"max_part_header_bytes"`
	// FileMemoryThreshold is the size up to which an uploaded file is kept
	// in memory; larger files are spooled to a private temporary file
	// (FILE_UPLOAD_MAX_MEMORY_SIZE). Zero means 2.5 MiB; Unlimited is not
	// accepted here (it would let files fill memory).
	FileMemoryThreshold int64 `toml:"file_memory_threshold"`
}

// Limits are effective limits, every field resolved: a value is used as it
// is (0 means zero is allowed) and a negative value means no limit. Obtain
// them from Default, (*Limiter).For, or From for a request.
type Limits struct {
	MaxBodyBytes        int64
	MaxFormBytes        int64
	MaxFields           int
	MaxFiles            int
	MaxFileBytes        int64
	MaxPartHeaderBytes  int
	FileMemoryThreshold int64
}

// Default returns Django's defaults plus Bulwark's body cap.
func Default() Limits {
	return Limits{
		MaxBodyBytes:        DefaultMaxBodyBytes,
		MaxFormBytes:        DefaultMaxFormBytes,
		MaxFields:           DefaultMaxFields,
		MaxFiles:            DefaultMaxFiles,
		MaxFileBytes:        DefaultMaxBodyBytes,
		MaxPartHeaderBytes:  DefaultMaxPartHeaderBytes,
		FileMemoryThreshold: DefaultFileMemoryThreshold,
	}
}

// Route overrides limits for the requests its Pattern matches.
type Route struct {
	// Pattern is "[METHOD ]PATH". A PATH ending in "/" matches that path,
	// the same path without its trailing slash ("/upload" for "/upload/",
	// which ServeMux would redirect) and everything below it; any other
	// PATH matches only itself. Paths are
	// compared with the request's cleaned URL path (dot segments and
	// duplicate slashes resolved, as net/http.ServeMux does), byte for
	// byte, case-sensitively. A METHOD restricts the route to that method.
	//
	// When several routes match, the most specific wins: the longest
	// PATH; at equal length an exact path beats a subtree; then a route
	// with a METHOD beats one without.
	Pattern string `toml:"pattern"`
	// Values overrides the top-level values; zero fields inherit them.
	Values
}

// Config configures a Limiter. The zero Config applies Django's defaults
// and a 32 MiB body cap to every request.
type Config struct {
	// Values are the limits for every request no Route matches. Zero fields
	// take Django's defaults (see the constants).
	Values
	// Routes override the limits for some paths (for example a larger
	// MaxBodyBytes for "POST /upload/"). Nil means none.
	Routes []Route `toml:"routes"`
	// Logger receives one Info event per refused request. Nil means
	// slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("limits: invalid configuration")

// ErrInvalidConfig is ErrConfig.
//
// Deprecated: use ErrConfig, the name every package uses.
var ErrInvalidConfig = ErrConfig

// Validate reports the first problem in c.
func (c Config) Validate() error {
	_, err := c.compile(nil)
	return err
}

type route struct {
	method string
	path   string
	prefix bool
	lim    *scoped
}

// scoped is what a request carries: its effective limits and the logger of
// the Limiter that chose them (nil when set by With), which WriteError
// reports on.
type scoped struct {
	Limits
	lg *slog.Logger
}

func (v Values) check(where string) error {
	if v.FileMemoryThreshold < 0 {
		return fmt.Errorf("%w: %sfile_memory_threshold cannot be unlimited", ErrConfig, where)
	}
	for _, f := range []struct {
		k string
		n int64
	}{{KeyBody, v.MaxBodyBytes}, {KeyForm, v.MaxFormBytes}, {KeyFields, int64(v.MaxFields)}, {KeyFiles, int64(v.MaxFiles)}, {KeyFileBytes, v.MaxFileBytes}, {KeyPartHeader, int64(v.MaxPartHeaderBytes)}} {
		if f.n < Unlimited {
			return fmt.Errorf("%w: %s%s = %d: use -1 for no limit", ErrConfig, where, f.k, f.n)
		}
	}
	return nil
}

// resolve returns base with the non-zero fields of v applied.
func (v Values) resolve(base Limits) Limits {
	l := base
	pick64 := func(dst *int64, n int64) {
		if n != 0 {
			*dst = n
		}
	}
	pick := func(dst *int, n int) {
		if n != 0 {
			*dst = n
		}
	}
	pick64(&l.MaxBodyBytes, v.MaxBodyBytes)
	pick64(&l.MaxFormBytes, v.MaxFormBytes)
	pick(&l.MaxFields, v.MaxFields)
	pick(&l.MaxFiles, v.MaxFiles)
	pick(&l.MaxPartHeaderBytes, v.MaxPartHeaderBytes)
	pick64(&l.FileMemoryThreshold, v.FileMemoryThreshold)
	if v.MaxFileBytes != 0 {
		l.MaxFileBytes = v.MaxFileBytes
	} else if v.MaxBodyBytes != 0 {
		// An unset per-file cap follows the body cap it would otherwise
		// exceed anyway.
		l.MaxFileBytes = l.MaxBodyBytes
	}
	return l
}

// WithDefaults returns c with every unset top-level value set to the one
// New applies (Default; an unset MaxFileBytes follows MaxBodyBytes):
// what "bulwark check" prints. Routes keep their zero fields, which
// inherit the top level. The result means the same as c.
func (c Config) WithDefaults() Config {
	l := c.Values.resolve(Default())
	v := &c.Values
	v.MaxBodyBytes, v.MaxFormBytes, v.MaxFields, v.MaxFiles = l.MaxBodyBytes, l.MaxFormBytes, l.MaxFields, l.MaxFiles
	v.MaxFileBytes, v.MaxPartHeaderBytes, v.FileMemoryThreshold = l.MaxFileBytes, l.MaxPartHeaderBytes, l.FileMemoryThreshold
	return c
}

type compiled struct {
	def    *scoped
	routes []route
}

// compile validates c and resolves its limits; lg is the logger the
// resolved limits carry.
func (c Config) compile(lg *slog.Logger) (compiled, error) {
	if err := c.Values.check(""); err != nil {
		return compiled{}, err
	}
	def := c.Values.resolve(Default())
	out := compiled{def: &scoped{Limits: def, lg: lg}}
	seen := map[string]bool{}
	for i, rt := range c.Routes {
		where := fmt.Sprintf("routes[%d] %q: ", i, rt.Pattern)
		if err := rt.Values.check(where); err != nil {
			return compiled{}, err
		}
		method, p, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, p = "", rt.Pattern
		}
		p = strings.TrimLeft(p, " ")
		if method != "" && !isToken(method) {
			return compiled{}, fmt.Errorf("%w: %sbad method", ErrConfig, where)
		}
		if err := pathset.Validate(p); err != nil {
			return compiled{}, fmt.Errorf("%w: %s%w", ErrConfig, where, err)
		}
		if seen[method+" "+p] {
			return compiled{}, fmt.Errorf("%w: %sduplicate pattern", ErrConfig, where)
		}
		seen[method+" "+p] = true
		l := rt.Values.resolve(def)
		out.routes = append(out.routes, route{method: method, path: p, prefix: strings.HasSuffix(p, "/"), lim: &scoped{Limits: l, lg: lg}})
	}
	return out, nil
}

func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return s != ""
}

// Limiter applies limits to requests. It is immutable and safe for
// concurrent use.
type Limiter struct {
	c      compiled
	logger *slog.Logger
}

// New validates c and returns a Limiter.
func New(c Config) (*Limiter, error) {
	lg := c.Logger
	if lg == nil {
		lg = slog.Default()
	}
	cc, err := c.compile(lg)
	if err != nil {
		return nil, err
	}
	return &Limiter{c: cc, logger: lg}, nil
}

// For returns the effective limits for r: those of the most specific
// matching Route, else the top-level ones.
func (l *Limiter) For(r *http.Request) Limits { return l.lookup(r).Limits }

func (l *Limiter) lookup(r *http.Request) *scoped {
	if len(l.c.routes) == 0 {
		return l.c.def
	}
	p := pathset.Clean(r.URL.Path)
	best, bestScore := l.c.def, -1
	for i := range l.c.routes {
		rt := &l.c.routes[i]
		if rt.method != "" && rt.method != r.Method {
			continue
		}
		if !pathset.Matches(rt.path, p) {
			continue
		}
		score := len(rt.path) * 4
		if !rt.prefix {
			score += 2
		}
		if rt.method != "" {
			score++
		}
		if score > bestScore {
			best, bestScore = rt.lim, score
		}
	}
	return best
}

type ctxKey struct{}

// With returns a shallow copy of r whose context carries lim, for code
// that wants to apply limits without the Handler.
func With(r *http.Request, lim Limits) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, &scoped{Limits: lim}))
}

// From returns the effective limits of r set by a Limiter's Handler (or
// With), and Default() when none were set: code that parses bodies is
// always bounded.
func From(r *http.Request) Limits {
	// A context value, when there is one, is the innermost: the Handler
	// keeps its limits in the request's record only when no
	// context value exists yet, so every context value was set behind it.
	if l, ok := r.Context().Value(ctxKey{}).(*scoped); ok {
		return l.Limits
	}
	if l, ok := reqstate.From(r).Limits().(*scoped); ok {
		return l.Limits
	}
	return Default()
}

// loggerOf returns the logger of the innermost Limiter whose Handler r
// passed through, and nil when there is none.
func loggerOf(r *http.Request) *slog.Logger {
	if l, ok := r.Context().Value(ctxKey{}).(*scoped); ok && l.lg != nil {
		return l.lg
	}
	if l, ok := reqstate.From(r).Limits().(*scoped); ok {
		return l.lg
	}
	return nil
}

// Check reports whether r is refused before its body is read: a declared
// Content-Length above MaxBodyBytes (or, for a urlencoded form, above
// MaxFormBytes), or a query string with more than MaxFields fields.
func (l *Limiter) Check(r *http.Request) error { return check(r, &l.lookup(r).Limits) }

func check(r *http.Request, lim *Limits) error {
	if lim.MaxBodyBytes >= 0 && r.ContentLength > lim.MaxBodyBytes {
		return newError(ErrBodyTooLarge, KeyBody, lim.MaxBodyBytes)
	}
	if lim.MaxFormBytes >= 0 && r.ContentLength > lim.MaxFormBytes && isURLEncoded(r) {
		return newError(ErrDataTooBig, KeyForm, lim.MaxFormBytes)
	}
	if lim.MaxFields >= 0 && CountFields(r.URL.RawQuery) > lim.MaxFields {
		return newError(ErrTooManyFields, KeyFields, int64(lim.MaxFields))
	}
	return nil
}

func isURLEncoded(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// Handler refuses requests that Check refuses, caps r.Body at
// MaxBodyBytes while it streams (reads past the cap fail with an *Error
// wrapping ErrBodyTooLarge and log one request_too_large event), and makes
// the effective limits available to later handlers through From.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lim := l.lookup(r)
		if err := check(r, &lim.Limits); err != nil {
			refuse(w, r, l.logger, err)
			return
		}
		r2 := r
		if rec := reqstate.From(r); rec != nil && rec.Limits() == nil &&
			r.Context().Value(ctxKey{}) == nil {
			// The first limits of the request live in the request's
			// record: no context value, no request copy. Nested Handlers
			// and With (behind this one) use context values, which From
			// consults first.
			reqstate.SetLimits(rec, lim)
		} else {
			r2 = r.WithContext(context.WithValue(r.Context(), ctxKey{}, lim))
		}
		if r.Body != nil && r.Body != http.NoBody && lim.MaxBodyBytes >= 0 {
			if r2 == r {
				r2 = new(http.Request)
				*r2 = *r
			}
			r2.Body = &body{rc: r.Body, n: lim.MaxBodyBytes, max: lim.MaxBodyBytes, w: w, r: r, lg: l.logger, logs: true}
		}
		next.ServeHTTP(w, r2)
	})
}

// WriteError answers a request whose body or form an application read
// through package limits (ParseForm, ParseQuery, ReadBody, or r.Body behind
// the Handler) and got err: the status of a *Error (413 for the byte caps,
// 400 for the others; 400 for any other error), the status text as body
// (never the error, which may hold request data), "Connection: close" so
// that the unread rest of the body is not drained, and one Info event
// naming the limit on the logger of the Limiter whose Handler r passed
// through (slog.Default() without one), unless the Handler's body reader
// already logged that refusal. Call it instead of writing a response of
// your own, so that every limit refusal looks the same:
//
//	query, form, err := limits.ParseForm(r, nil)
//	if err != nil {
//		limits.WriteError(w, r, err)
//		return
//	}
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	refuse(w, r, loggerOf(r), err)
}

// refuse is WriteError with the logger given (nil means slog.Default()).
// The Handler, package upload and the gateway reach it through
// internal/limitsrefusal, with their own loggers.
func refuse(w http.ResponseWriter, r *http.Request, lg *slog.Logger, err error) {
	status := http.StatusBadRequest
	var le *Error
	if errors.As(err, &le) {
		status = le.Status()
		if !le.reported {
			// The body reader already reported an overflow it detected:
			// one refusal, one event.
			logRefusal(lg, r, le)
		}
	}
	// The connection may still hold unread body bytes we refuse to read.
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(status), status)
}

func logRefusal(lg *slog.Logger, r *http.Request, e *Error) {
	if lg == nil {
		lg = slog.Default()
	}
	refusal.Log(lg, r, "request refused by limits", e.Event(), e.Limit, slog.Int64("limit", e.Value))
}
