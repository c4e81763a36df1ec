package csrf

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Defaults.
const (
	// DefaultCookieName is Django's CSRF_COOKIE_NAME. Over HTTPS the cookie
	// is sent as "__Host-csrftoken" (see Config.InsecureUnprefixedCookie).
	DefaultCookieName = "csrftoken"
	// DefaultCookieMaxAge is Django's CSRF_COOKIE_AGE: 52 weeks.
	DefaultCookieMaxAge = 52 * 7 * 24 * time.Hour
	// DefaultHeaderName is the request header carrying the token (Django's
	// CSRF_HEADER_NAME, HTTP_X_CSRFTOKEN).
	DefaultHeaderName = "X-CSRFToken"
	// FormField is the form field carrying the token, as Django's
	// {% csrf_token %} tag names it.
	FormField = "csrfmiddlewaretoken"
	// DefaultMaxFormBytes bounds how much of a POST body is read (and kept
	// in memory for the application) while looking for FormField: Django's
	// DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MiB.
	DefaultMaxFormBytes = 2621440
)

// SessionSecrets keeps the CSRF secret in the user's session (Django's
// CSRF_USE_SESSIONS). An error from either method refuses the request with
// 503 and is logged as a session_store_error event, unless it wraps
// session.ErrStore: *session.Manager has then logged that failure itself,
// and one failure is one event.
type SessionSecrets interface {
	CSRFSecret(r *http.Request) (string, error)         // "" when none stored
	SetCSRFSecret(r *http.Request, secret string) error // saved with the session
}

// Config configures CSRF protection. The zero value is secure and complete:
// the Fetch Metadata and Origin layer and Django's token layer, with the
// secret in a SameSite=Lax cookie that is __Host- prefixed and Secure over
// HTTPS.
type Config struct {
	// TrustedOrigins are other origins allowed to send unsafe requests
	// (Django's CSRF_TRUSTED_ORIGINS): "scheme://host[:port]", where the
	// host may start with "*." to trust the domain and all its subdomains
	// ("https://*.example.com" trusts https://example.com and
	// https://a.b.example.com on port 443, not :8443). The scheme and port
	// always count. Internationalised names are accepted and converted to
	// IDNA. An entry with a path (even "/"), a query or user info is an
	// error at New. Zero: only the request's own origin.
	TrustedOrigins []string `toml:"trusted_origins"`

	// InsecureBypassPaths exempts requests whose path is exactly one of
	// these from every check, for endpoints that authenticate otherwise
	// (a webhook with a signature). Matching is on the escaped path,
	// byte for byte: "/hook" does not exempt "/hook/", "/Hook", "//hook",
	// "/x/../hook" or "/h%6Fok", so no spelling a router might map to
	// another handler is exempted (the flaw of CVE-2025-47910 in net/http's
	// AddInsecureBypassPattern). Each entry must be a clean absolute path
	// in canonical escaping; there are no prefixes or wildcards: wrap a
	// handler in Exempt to exempt a subtree. Zero: nothing is exempt.
	InsecureBypassPaths []string `toml:"insecure_bypass_paths"`

	// InsecureSkipTokens switches the token layer off, leaving the Fetch
	// Metadata and Origin layer alone (like net/http's
	// CrossOriginProtection): for APIs whose clients cannot carry a token.
	// It no longer refuses requests from browsers too old to send
	// Sec-Fetch-Site or Origin, it drops the Referer check, and a
	// compromised or hostile sibling subdomain listed in TrustedOrigins is
	// then trusted outright. Zero: tokens are required.
	InsecureSkipTokens bool `toml:"insecure_skip_tokens"`

	// RefererWithoutTokens keeps Django's strict Referer check (d.6) when
	// InsecureSkipTokens is set: an unsafe HTTPS request that carries
	// neither Origin nor Sec-Fetch-Site is accepted only with a Referer
	// that is https and names this host or a trusted origin, as Django's
	// CsrfViewMiddleware requires. A cross-origin Referer is then the
	// signal it is, instead of no signal at all. It also refuses clients
	// that send none of the three (scripts, webhooks, API clients):
	// exempt their paths (InsecureBypassPaths, Exempt) or have them send
	// Sec-Fetch-Site or Origin. Plain-HTTP requests are not checked, as in
	// Django (a Referer is routinely dropped on them). With the token
	// layer on, the Referer check always runs and this has no effect.
	// The gateway ("bulwark serve") always sets it. Zero: with tokens off,
	// a request without Origin or Sec-Fetch-Site passes.
	RefererWithoutTokens bool `toml:"referer_without_tokens"`

	// CookieName is the name of the cookie holding the secret (Django's
	// CSRF_COOKIE_NAME). Over HTTPS the cookie is sent and read as
	// "__Host-" + CookieName (or "__Secure-" + CookieName when CookieDomain
	// or CookiePath rule __Host- out), unless InsecureUnprefixedCookie is
	// set or the name already carries a prefix. Scripts that copy the
	// cookie into the token header must read that name (see
	// Protection.CookieName). Zero: "csrftoken".
	CookieName string `toml:"cookie_name"`
	// CookieDomain is the cookie's Domain attribute (Django's
	// CSRF_COOKIE_DOMAIN), to share the token across subdomains. It also
	// widens the Referer check to that domain, as in Django. Setting it
	// rules out the __Host- prefix. Zero: a host-only cookie.
	CookieDomain string `toml:"cookie_domain"`
	// CookiePath is the cookie's Path (Django's CSRF_COOKIE_PATH). A path
	// other than "/" rules out the __Host- prefix. Zero: "/".
	CookiePath string `toml:"cookie_path"`
	// CookieMaxAge is the cookie's lifetime (Django's CSRF_COOKIE_AGE); a
	// negative value makes a browser-session cookie (Django's None).
	// Zero: 52 weeks.
	CookieMaxAge time.Duration `toml:"cookie_max_age"`
	// CookieSecure marks the cookie Secure on plain-HTTP requests too
	// (Django's CSRF_COOKIE_SECURE). Over HTTPS it is always Secure. Zero:
	// Secure only over HTTPS, so plain-HTTP development hosts still work.
	CookieSecure bool `toml:"cookie_secure"`
	// CookieHTTPOnly hides the cookie from scripts (Django's
	// CSRF_COOKIE_HTTPONLY). It adds no real protection (a script that can
	// read the page can read the token in it) and stops scripts from
	// copying the cookie into the token header. Zero: not HttpOnly.
	CookieHTTPOnly bool `toml:"cookie_http_only"`
	// CookieSameSite is "lax", "strict" or "none" (Django's
	// CSRF_COOKIE_SAMESITE, case-insensitive). "none" also forces Secure,
	// which browsers require. Django's False (no attribute) is not
	// offered: browsers then default to Lax anyway. Zero: "lax".
	CookieSameSite string `toml:"cookie_same_site"`
	// InsecureUnprefixedCookie sends and reads the cookie under CookieName
	// exactly, even over HTTPS (Django's behaviour). Without the __Host-
	// prefix a sibling subdomain, or a network attacker writing through
	// plain HTTP, can plant a cookie and a matching token (cookie tossing);
	// the Origin layer still refuses such a request from a browser. Zero:
	// prefixed over HTTPS.
	InsecureUnprefixedCookie bool `toml:"insecure_unprefixed_cookie"`

	// HeaderName is the request header carrying the token for scripts
	// (Django's CSRF_HEADER_NAME; Django's "HTTP_X_CSRFTOKEN" is
	// "X-CSRFToken" here). Zero: "X-CSRFToken".
	HeaderName string `toml:"header_name"`

	// UseSessions keeps the secret in the session instead of a cookie
	// (Django's CSRF_USE_SESSIONS); Sessions must then be set. The Referer
	// check then widens to the session cookie's domain when Sessions has a
	// CookieDomain() string method (Django's SESSION_COOKIE_DOMAIN). Zero:
	// a cookie.
	UseSessions bool `toml:"use_sessions"`
	// Sessions stores the secret when UseSessions is set; *session.Manager
	// implements it. It is read lazily, only when a request is checked or a
	// token is made.
	Sessions SessionSecrets `toml:"-"`

	// MaxFormBytes bounds how much of a form POST body is read, and held
	// for the application, while looking for the csrfmiddlewaretoken field.
	// A larger form, or a multipart upload whose field comes later, is
	// checked with the header token instead. Put the field first in forms
	// (TemplateField does not decide its position). Zero: 2.5 MiB
	// (DefaultMaxFormBytes).
	MaxFormBytes int64 `toml:"max_form_bytes"`

	// FailureHandler serves refused requests (Django's CSRF_FAILURE_VIEW);
	// FailureReason(r) gives it the reason. It must not call the
	// application. Zero: 403 with the body "Forbidden" (see Development).
	FailureHandler http.Handler `toml:"-"`

	// Development states the failure reason in the body of the default
	// 403 page, as Django's failure view does with DEBUG = True, so that
	// a developer sees why a form was refused. The reason may quote the
	// request's Origin or Referer: it is HTML-escaped (as Django's
	// template does) and cut to 1 KiB. It tells an attacker which check
	// failed, so it has no place in a deployment (bulwark check reports
	// it). It has no effect with a FailureHandler. Zero: the body is the
	// status text only.
	Development bool `toml:"development"`

	// Logger receives one csrf_failure event per refusal and a
	// csrf_cookie_replaced event when a malformed stored secret is
	// replaced, at Info; never a cookie, token or query string. Zero:
	// slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// WithDefaults returns c with the defaults New applies filled in (cookie
// name, path, lifetime and SameSite, header name, form bound): what
// "bulwark check" prints. The result means the same as c.
func (c Config) WithDefaults() Config {
	if c.CookieName == "" {
		c.CookieName = DefaultCookieName
	}
	if c.CookiePath == "" {
		c.CookiePath = "/"
	}
	if c.CookieMaxAge == 0 {
		c.CookieMaxAge = DefaultCookieMaxAge
	}
	if c.CookieSameSite == "" {
		c.CookieSameSite = "lax"
	}
	if c.HeaderName == "" {
		c.HeaderName = DefaultHeaderName
	}
	if c.MaxFormBytes == 0 {
		c.MaxFormBytes = DefaultMaxFormBytes
	}
	return c
}

// Validate reports configuration errors.
func (c Config) Validate() error {
	_, err := build(c)
	return err
}

// Protection is a built, immutable CSRF protection.
type Protection struct {
	cfg          Config
	trusted      []trustedOrigin
	refererHosts []string // Django's csrf_trusted_origins_hosts
	bypass       map[string]struct{}

	plainName  string // cookie name over HTTP
	secureName string // cookie name over HTTPS
	cookiePath string
	sameSite   http.SameSite
	maxAge     time.Duration

	header        string // canonical header key
	headerLength  string // reason texts naming the header, precomputed
	headerChars   string
	headerWrong   string
	maxFormBytes  int64
	sessionDomain string // Referer rule in session mode; "" = the host
	failure       http.Handler
	log           *slog.Logger
}

// New validates c and builds a Protection.
func New(c Config) (*Protection, error) { return build(c) }

var errSessionsMissing = fmt.Errorf("%w: use_sessions is set but no Sessions implementation is configured", ErrConfig)

func build(c Config) (*Protection, error) {
	c = c.WithDefaults()
	p := &Protection{cfg: c, maxAge: c.CookieMaxAge, maxFormBytes: c.MaxFormBytes, log: c.Logger, failure: c.FailureHandler}
	for _, step := range []func(Config) error{p.buildOrigins, p.buildCookie, p.buildHeader, p.buildSessions} {
		if err := step(c); err != nil {
			return nil, err
		}
	}
	if c.MaxFormBytes < 0 {
		return nil, fmt.Errorf("%w: max_form_bytes %d is negative", ErrConfig, c.MaxFormBytes)
	}
	if p.failure == nil {
		p.failure = failurePage(c.Development)
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	return p, nil
}

// buildOrigins parses the trusted origins and the bypass paths.
func (p *Protection) buildOrigins(c Config) error {
	for _, s := range c.TrustedOrigins {
		t, ref, err := parseTrusted(s)
		if err != nil {
			return err
		}
		p.trusted = append(p.trusted, t)
		p.refererHosts = append(p.refererHosts, ref)
	}
	for _, s := range c.InsecureBypassPaths {
		if err := checkBypassPath(s); err != nil {
			return err
		}
		if p.bypass == nil {
			p.bypass = make(map[string]struct{})
		}
		p.bypass[s] = struct{}{}
	}
	return nil
}

// buildCookie checks the cookie's attributes and chooses its names over
// plain HTTP and over HTTPS.
func (p *Protection) buildCookie(c Config) error {
	name := c.CookieName
	if !validToken(name) {
		return fmt.Errorf("%w: cookie_name %q is not a valid cookie name", ErrConfig, name)
	}
	p.cookiePath = c.CookiePath
	if !strings.HasPrefix(p.cookiePath, "/") || strings.ContainsAny(p.cookiePath, ";\x00\r\n ") {
		return fmt.Errorf("%w: cookie_path %q must be an absolute path", ErrConfig, c.CookiePath)
	}
	if c.CookieDomain != "" {
		// net/http drops an invalid Domain attribute with only a log line,
		// which would silently make the cookie host-only: refuse it here.
		if err := (&http.Cookie{Name: "x", Value: "x", Domain: c.CookieDomain}).Valid(); err != nil || strings.ContainsAny(c.CookieDomain, ";\x00\r\n /") {
			return fmt.Errorf("%w: cookie_domain %q is not a valid cookie domain", ErrConfig, c.CookieDomain)
		}
	}
	// Over HTTPS the cookie carries a prefix, which browsers enforce: a
	// __Host- cookie is accepted only from a secure origin, for exactly
	// this host and path "/", so a sibling subdomain or a network attacker
	// cannot plant one (cookie tossing). When a domain or path rules
	// __Host- out, __Secure- still keeps out writers over plain HTTP.
	hostOK := c.CookieDomain == "" && p.cookiePath == "/"
	switch {
	case strings.HasPrefix(name, "__Host-"):
		if !hostOK {
			return fmt.Errorf("%w: cookie_name %q needs no cookie_domain and cookie_path \"/\"", ErrConfig, name)
		}
		p.plainName, p.secureName = name, name
	case strings.HasPrefix(name, "__Secure-"), c.InsecureUnprefixedCookie:
		p.plainName, p.secureName = name, name
	case hostOK:
		p.plainName, p.secureName = name, "__Host-"+name
	default:
		p.plainName, p.secureName = name, "__Secure-"+name
	}
	switch strings.ToLower(c.CookieSameSite) {
	case "lax":
		p.sameSite = http.SameSiteLaxMode
	case "strict":
		p.sameSite = http.SameSiteStrictMode
	case "none":
		p.sameSite = http.SameSiteNoneMode
	default:
		return fmt.Errorf("%w: cookie_same_site %q: want \"lax\", \"strict\" or \"none\"", ErrConfig, c.CookieSameSite)
	}
	return nil
}

// buildHeader checks the token header's name and words Django's reasons
// that name it.
func (p *Protection) buildHeader(c Config) error {
	hn := c.HeaderName
	if !validToken(hn) {
		return fmt.Errorf("%w: header_name %q is not a valid header name", ErrConfig, hn)
	}
	p.header = http.CanonicalHeaderKey(hn)
	// Django names the header in its reasons as CSRF_HEADER_NAME without
	// "HTTP_", "_" turned into "-", title-cased, in Python repr quotes.
	disp := "'" + pythonTitle(strings.ReplaceAll(hn, "_", "-")) + "'"
	p.headerLength = "CSRF token from the " + disp + " HTTP header has incorrect length."
	p.headerChars = "CSRF token from the " + disp + " HTTP header has invalid characters."
	p.headerWrong = "CSRF token from the " + disp + " HTTP header incorrect."
	return nil
}

// buildSessions checks use_sessions against Sessions and takes the
// session cookie's domain for the Referer check.
func (p *Protection) buildSessions(c Config) error {
	if !c.UseSessions {
		if c.Sessions != nil {
			return fmt.Errorf("%w: Sessions is set but use_sessions is not", ErrConfig)
		}
		return nil
	}
	if c.Sessions == nil {
		return errSessionsMissing
	}
	if d, ok := c.Sessions.(interface{ CookieDomain() string }); ok {
		p.sessionDomain = d.CookieDomain()
	}
	return nil
}

// checkBypassPath accepts only paths that are already in the one form a
// request must spell them in to match: absolute, clean (no "//", ".", ".."),
// and in canonical escaping; a trailing slash is kept as part of the path.
func checkBypassPath(s string) error {
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%w: insecure_bypass_paths: %q must start with /", ErrConfig, s)
	}
	unescaped, err := url.PathUnescape(s)
	if err != nil {
		return fmt.Errorf("%w: insecure_bypass_paths: %q: %v", ErrConfig, s, err)
	}
	clean := path.Clean(unescaped)
	if strings.HasSuffix(unescaped, "/") && clean != "/" {
		clean += "/" // a route may end in a slash; it is matched with it
	}
	if clean != unescaped {
		return fmt.Errorf("%w: insecure_bypass_paths: %q is not clean (want %q)", ErrConfig, s, clean)
	}
	if (&url.URL{Path: unescaped}).EscapedPath() != s {
		return fmt.Errorf("%w: insecure_bypass_paths: %q is not in canonical escaping (want %q)", ErrConfig, s, (&url.URL{Path: unescaped}).EscapedPath())
	}
	return nil
}

// validToken reports an RFC 9110 token (header and cookie names).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// pythonTitle is Python's str.title() for ASCII: a letter is upper-cased
// when the character before it is not a letter, lower-cased otherwise.
func pythonTitle(s string) string {
	b := []byte(s)
	prevLetter := false
	for i, c := range b {
		isLetter := c|0x20 >= 'a' && c|0x20 <= 'z'
		if isLetter {
			if prevLetter {
				b[i] = c | 0x20
			} else {
				b[i] = c &^ 0x20
			}
		}
		prevLetter = isLetter
	}
	return string(b)
}
