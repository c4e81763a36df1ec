package httpsonly

import (
	"errors"
	"net/http"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Errors returned by Check and Location, to branch on with errors.Is.
var (
	// ErrNotSecure: the request arrived over plain HTTP and must be
	// redirected to HTTPS.
	ErrNotSecure = errors.New("httpsonly: request is not secure")
	// ErrHostNotValidated: no SSLHost is configured and the request's host
	// was not validated by package hosts, so there is no trustworthy host
	// to redirect to.
	ErrHostNotValidated = errors.New("httpsonly: host not validated")
	// ErrLocationTooLong: the redirect URL would exceed 16384 bytes
	// (Django's DisallowedRedirect).
	ErrLocationTooLong = errors.New("httpsonly: redirect location too long")
	// ErrUnsafeMethod: a plain-HTTP request with an unsafe method, refused
	// under Config.RefuseUnsafeMethods.
	ErrUnsafeMethod = errors.New("httpsonly: unsafe method over plain HTTP")
)

// safeMethod reports whether m is a safe method (RFC 9110, 9.2.1).
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

const hstsHeader = "Strict-Transport-Security"

// Policy is a built, immutable httpsonly configuration. It is safe for
// concurrent use.
type Policy struct {
	c *compiled
}

// New validates c and builds its Policy.
func New(c Config) (*Policy, error) {
	p, err := c.compile()
	if err != nil {
		return nil, err
	}
	return &Policy{c: p}, nil
}

// Check reports whether r may be served as it is: nil when it is secure,
// exempt, or the redirect is turned off; ErrNotSecure when the handler would
// redirect it.
func (p *Policy) Check(r *http.Request) error {
	if p.mustRedirect(r) {
		return ErrNotSecure
	}
	return nil
}

func (p *Policy) mustRedirect(r *http.Request) bool {
	if !p.c.redirect || trustedproxy.IsSecure(r) {
		return false
	}
	return !p.exempt(r)
}

// exempt reports whether r's path matches an exempt pattern, searched in
// the path with every leading slash removed (Django's lstrip("/")).
func (p *Policy) exempt(r *http.Request) bool {
	if len(p.c.exempt) == 0 {
		return false
	}
	path := strings.TrimLeft(r.URL.Path, "/")
	for _, re := range p.c.exempt {
		if re.MatchString(path) {
			return true
		}
	}
	return false
}

// Handler returns next wrapped with the redirect and HSTS.
//
// A secure request (trustedproxy.IsSecure) gets Strict-Transport-Security,
// set before next runs so that next can replace it (Header().Set) or remove
// it (Header().Del); a header already present on w is left alone. A
// plain-HTTP request is redirected to https unless the redirect is off or
// its path is exempt; such requests never get HSTS (browsers ignore it over
// HTTP, and sending it there would only advertise a policy an attacker on
// the path can strip anyway).
//
// When the redirect target cannot be built safely (no SSLHost and a host
// that package hosts did not validate, or a Location over 16384 bytes), or
// RefuseUnsafeMethods applies, the request is refused with 400 and one
// "disallowed_redirect" event.
func (p *Policy) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if trustedproxy.IsSecure(r) {
			if p.c.hsts != nil {
				h := w.Header()
				if _, set := h[hstsHeader]; !set {
					// A slice of this request's own: handlers may append
					// to or edit header slices in place, so the shared
					// precomputed one is never handed out. The request's
					// record backs it when there is one (no allocation).
					if rec := reqstate.From(r); rec != nil {
						h[hstsHeader] = reqstate.HSTS(rec, p.c.hstsVal)
					} else {
						h[hstsHeader] = []string{p.c.hstsVal}
					}
				}
			}
			next.ServeHTTP(w, r)
			return
		}
		if !p.c.redirect || p.exempt(r) {
			next.ServeHTTP(w, r)
			return
		}
		if p.c.refuse && !safeMethod(r.Method) {
			p.refuse(w, r, ErrUnsafeMethod)
			return
		}
		loc, err := p.location(r)
		if err != nil {
			p.refuse(w, r, err)
			return
		}
		w.Header()["Location"] = []string{loc}
		w.WriteHeader(p.c.status)
	})
}

// Location returns the https URL a plain-HTTP request r is redirected to,
// whether or not r is secure. It fails with ErrHostNotValidated or
// ErrLocationTooLong when the handler would refuse r with 400.
func (p *Policy) Location(r *http.Request) (string, error) {
	return p.location(r)
}

func (p *Policy) location(r *http.Request) (string, error) {
	host := p.c.sslHost
	if host == "" {
		// Never redirect to a host nobody validated: an attacker's Host
		// header would turn our redirect into an open redirect (and poison
		// caches that store 301s). Django validates here through
		// get_host(); we rely on package hosts having done it for every
		// request, and fail closed when it has not.
		validated, ok := reqstate.From(r).ValidatedHost()
		if !ok || validated == "" {
			return "", ErrHostNotValidated
		}
		host = withPort(validated, p.c.port)
	}
	loc, ok := buildLocation(host, r.URL.Path, r.URL.RawQuery)
	if !ok {
		return "", ErrLocationTooLong
	}
	return loc, nil
}

func (p *Policy) refuse(w http.ResponseWriter, r *http.Request, err error) {
	reason := "location_too_long"
	switch {
	case errors.Is(err, ErrHostNotValidated):
		reason = "host_not_validated"
	case errors.Is(err, ErrUnsafeMethod):
		reason = "insecure_unsafe_method"
	}
	// Host and path are attacker-controlled and, for the too-long case,
	// up to 16 KiB: the event quotes and cuts them.
	refusal.Log(p.c.logger, r, "request refused", "disallowed_redirect", reason)
	http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
}

// withPort applies the RedirectPort policy to a validated host: "" keeps
// it, "-" drops its port, anything else replaces (or adds) the port.
func withPort(host, port string) string {
	if port == "" {
		return host
	}
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') {
		name = host[:i]
	}
	if port == "-" {
		return name
	}
	return name + ":" + port
}
