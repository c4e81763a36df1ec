package httpsonly

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultHSTSMaxAge is the HSTS max-age used when Config.HSTSMaxAge is zero:
// one year, the value the HSTS preload list requires.
const DefaultHSTSMaxAge = 365 * 24 * time.Hour

// preloadMinAge is the smallest max-age hstspreload.org accepts.
const preloadMinAge = 31536000 * time.Second

// maxLocation is Django's MAX_URL_REDIRECT_LENGTH: a redirect whose Location
// is longer is refused with 400 (DisallowedRedirect).
const maxLocation = 16384

// Config configures the HTTP→HTTPS redirect and HSTS. The zero Config is
// the secure one: every plain-HTTP request is redirected with 301 to the
// validated host, and secure responses carry
// "Strict-Transport-Security: max-age=31536000".
type Config struct {
	// AllowInsecureHTTP serves plain-HTTP requests instead of redirecting
	// them (Django's SECURE_SSL_REDIRECT = False). Zero (false): every
	// plain-HTTP request not matched by Exempt is redirected to https.
	AllowInsecureHTTP bool `toml:"allow_insecure_http"`

	// RedirectStatus is the status of the redirect: 301 (Moved
	// Permanently, Django's choice for every method) or 308 (Permanent
	// Redirect, which keeps the method and body of a POST). Zero means 301.
	// Any other value is a configuration error.
	RedirectStatus int `toml:"redirect_status"`

	// RefuseUnsafeMethods answers plain-HTTP requests with an unsafe
	// method (anything but GET, HEAD, OPTIONS and TRACE) with 400 instead
	// of redirecting them. Their body has already crossed the network in
	// clear; refusing makes the broken form or client visible instead of
	// having it silently resend (308) or turn into a GET (301). Zero
	// (false): every method is redirected, as in Django.
	RefuseUnsafeMethods bool `toml:"refuse_unsafe_methods"`

	// SSLHost is the host (with an optional port) every redirect goes to,
	// used verbatim (Django's SECURE_SSL_HOST), for example
	// "secure.example.com". Empty (the default): the request's host as
	// validated by package hosts, port included. It must be a bare host or
	// host:port: a scheme, path, user info or whitespace is a configuration
	// error.
	SSLHost string `toml:"ssl_host"`

	// RedirectPort replaces the port of the validated host in the redirect.
	// Zero (the default) keeps the host exactly as the client sent it, port
	// included, as Django does ("example.com:8080" redirects to
	// "https://example.com:8080/"). 443 drops the port (https' default);
	// any other value in 1..65535 sets it. It does not apply to SSLHost,
	// which is used verbatim.
	RedirectPort int `toml:"redirect_port"`

	// Exempt lists regular expressions (Go RE2 syntax) of paths that are
	// served over plain HTTP without a redirect (Django's
	// SECURE_REDIRECT_EXEMPT). As in Django, each pattern is searched for
	// (unanchored) in the request path with ALL its leading slashes
	// removed, so "^insecure/" matches "/insecure/page" and a pattern
	// starting with "^/" never matches. Empty (the default): no exemption.
	// An invalid pattern is a configuration error.
	Exempt []string `toml:"exempt"`

	// HSTSMaxAge is the max-age of the Strict-Transport-Security header
	// sent on secure responses, in whole seconds (Django's
	// SECURE_HSTS_SECONDS). Zero means DefaultHSTSMaxAge (one year). It
	// must be at least one second and a whole number of seconds.
	HSTSMaxAge time.Duration `toml:"hsts_max_age"`

	// InsecureDisableHSTS sends no Strict-Transport-Security header
	// (Django's default SECURE_HSTS_SECONDS = 0). Zero (false): HSTS is
	// sent on every secure response.
	InsecureDisableHSTS bool `toml:"insecure_disable_hsts"`

	// HSTSIncludeSubdomains appends "; includeSubDomains" (Django's
	// SECURE_HSTS_INCLUDE_SUBDOMAINS). Zero (false): the policy covers this
	// host only. Enable it once every subdomain serves HTTPS.
	HSTSIncludeSubdomains bool `toml:"hsts_include_subdomains"`

	// HSTSPreload appends "; preload" (Django's SECURE_HSTS_PRELOAD), the
	// consent to inclusion in browsers' preload list. Zero (false): no
	// preload token. It requires HSTSIncludeSubdomains (the list refuses
	// a header without it); setting it alone is a configuration error.
	HSTSPreload bool `toml:"hsts_preload"`

	// Logger receives one Info event per refused request ("event":
	// "disallowed_redirect"). Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("httpsonly: invalid configuration")

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// compiled is the validated, precomputed form of a Config.
type compiled struct {
	redirect bool
	refuse   bool // RefuseUnsafeMethods
	status   int
	sslHost  string
	port     string // "" keep, "-" drop, else the port digits
	exempt   []*regexp.Regexp
	hsts     []string // nil when HSTS is off; never handed out (copied)
	hstsVal  string
	logger   *slog.Logger
}

func (c Config) compile() (*compiled, error) {
	p := &compiled{redirect: !c.AllowInsecureHTTP, refuse: c.RefuseUnsafeMethods, logger: c.Logger}
	if p.logger == nil {
		p.logger = slog.Default()
	}
	switch c.RedirectStatus {
	case 0, 301:
		p.status = 301
	case 308:
		p.status = 308
	default:
		return nil, configError("redirect_status %d: want 301 or 308", c.RedirectStatus)
	}
	if c.SSLHost != "" {
		if err := checkHost(c.SSLHost); err != nil {
			return nil, configError("ssl_host %q: %v", c.SSLHost, err)
		}
		p.sslHost = c.SSLHost
	}
	switch {
	case c.RedirectPort == 0:
	case c.RedirectPort == 443:
		p.port = "-"
	case c.RedirectPort > 0 && c.RedirectPort <= 65535:
		p.port = strconv.Itoa(c.RedirectPort)
	default:
		return nil, configError("redirect_port %d: want 1..65535", c.RedirectPort)
	}
	for _, pat := range c.Exempt {
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, configError("exempt pattern %q: %v", pat, err)
		}
		p.exempt = append(p.exempt, re)
	}
	if c.InsecureDisableHSTS {
		return p, nil
	}
	age := c.HSTSMaxAge
	if age == 0 {
		age = DefaultHSTSMaxAge
	}
	if age < time.Second || age%time.Second != 0 {
		return nil, configError("hsts_max_age %s: want a whole number of seconds, at least 1s", age)
	}
	if c.HSTSPreload && !c.HSTSIncludeSubdomains {
		// The preload list (hstspreload.org) refuses a header without
		// includeSubDomains: "preload" alone promises something the list
		// will never honour, which is a misconfiguration worth stopping.
		// A max-age under one year is allowed, so that a site can ramp the
		// age up with its final header shape; the audit flags it.
		return nil, configError("hsts_preload requires hsts_include_subdomains (the preload list refuses the header otherwise)")
	}
	v := "max-age=" + strconv.FormatInt(int64(age/time.Second), 10)
	if c.HSTSIncludeSubdomains {
		v += "; includeSubDomains"
	}
	if c.HSTSPreload {
		v += "; preload"
	}
	p.hstsVal = v
	p.hsts = []string{v}
	return p, nil
}

// PreloadEligible reports whether c produces a header the HSTS preload list
// accepts: max-age of at least one year, includeSubDomains and preload.
func (c Config) PreloadEligible() bool {
	age := c.HSTSMaxAge
	if age == 0 {
		age = DefaultHSTSMaxAge
	}
	return !c.InsecureDisableHSTS && c.HSTSPreload && c.HSTSIncludeSubdomains && age >= preloadMinAge
}

// checkHost accepts host or host:port made of the characters a DNS name, an
// IPv4 address or a bracketed IPv6 literal can hold. It is what keeps a
// configured SSLHost from turning the redirect into "https://evil/..." via
// user info ("a@evil"), a path or a scheme.
func checkHost(h string) error {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return errors.New("unterminated IPv6 literal")
		}
		for _, c := range h[1:end] {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return fmt.Errorf("invalid character %q", c)
			}
		}
		rest := h[end+1:]
		if rest == "" {
			return nil
		}
		if rest[0] != ':' {
			return errors.New("want [ipv6] or [ipv6]:port")
		}
		return checkPort(rest[1:])
	}
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" {
		return errors.New("empty host name")
	}
	for _, c := range name {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-') {
			return fmt.Errorf("invalid character %q", c)
		}
	}
	if hasPort {
		return checkPort(port)
	}
	return nil
}

func checkPort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' {
		return fmt.Errorf("invalid port %q", p)
	}
	return nil
}

// WithDefaults returns c with every zero field that has a default replaced
// by that default, as New reads it: the effective configuration. It does
// not validate c.
func (c Config) WithDefaults() Config {
	if c.RedirectStatus == 0 {
		c.RedirectStatus = 301
	}
	if c.HSTSMaxAge == 0 && !c.InsecureDisableHSTS {
		c.HSTSMaxAge = DefaultHSTSMaxAge
	}
	return c
}
