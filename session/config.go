package session

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// DefaultLifetime is the absolute lifetime of a session: 14 days, Django's
// SESSION_COOKIE_AGE.
const DefaultLifetime = 14 * 24 * time.Hour

// Config configures a Manager. Exactly one of Store and CookieStore is
// required; everything else has a secure default.
type Config struct {
	// Store keeps sessions on the server (memstore, sqlitestore,
	// redisstore, pgstore). It sees only hashes of session ids.
	Store Store `toml:"-"`

	// CookieStore keeps sessions in the cookie, encrypted (cookiestore).
	// Set either Store or CookieStore, not both.
	CookieStore CookieStore `toml:"-"`

	// Cookie is the session cookie's name and attributes.
	Cookie CookieConfig `toml:"cookie"`

	// Lifetime is the absolute lifetime of a session, counted from its
	// creation or its last Renew, whatever its activity. Zero:
	// DefaultLifetime (14 days); negative is invalid. A per-session
	// deadline (SetExpiry) replaces it.
	Lifetime time.Duration `toml:"lifetime"`

	// IdleTimeout ends a session after this long without a request that
	// reads it (Django's set_expiry(seconds), for every session). Zero: no
	// idle timeout, only Lifetime; negative is invalid. With an idle
	// timeout, sessions are re-saved as they are used (at most once per
	// minute, or per IdleTimeout/8 when shorter), to slide their expiry.
	IdleTimeout time.Duration `toml:"idle_timeout"`

	// BrowserSession sends the cookie without Max-Age and Expires, so the
	// browser drops it when it closes (SESSION_EXPIRE_AT_BROWSER_CLOSE);
	// the server-side expiry still applies. Default false.
	BrowserSession bool `toml:"browser_session"`

	// SaveEveryRequest re-saves every non-empty session the request
	// carried, and re-sends its cookie, even when unchanged
	// (SESSION_SAVE_EVERY_REQUEST). Default false: save only when modified.
	SaveEveryRequest bool `toml:"save_every_request"`

	// StoreKeySecret, when set, makes the key a Store sees
	// HMAC-SHA256(StoreKeySecret, id) instead of SHA-256(id): a leaked
	// store dump then cannot even be matched against a cookie without the
	// secret. Nil: SHA-256 (a hash of a 256-bit random id cannot be
	// reversed either way). Changing it ends every session.
	StoreKeySecret []byte `toml:"store_key_secret"`

	// StoreTimeout bounds each call to Store or CookieStore (load, save,
	// delete): a store that stops answering (a frozen Redis or
	// PostgreSQL, a partition that drops packets) fails the request with
	// 503 after this long instead of holding it for the whole outage, and
	// the next request tries again (no restart needed once the store is
	// back). The deadline is passed in the context; stores must honour it
	// (redisstore requires a client with ContextTimeoutEnabled for that).
	// Zero: DefaultStoreTimeout (1s); negative is invalid.
	StoreTimeout time.Duration `toml:"store_timeout"`

	// Logger receives session_store_error events. Nil: slog.Default().
	Logger *slog.Logger `toml:"-"`

	// Now is the clock. Nil: time.Now.
	Now func() time.Time `toml:"-"`
}

// CookieConfig is the session cookie. The zero value is the secure
// default: "__Host-session; Path=/; Secure; HttpOnly; SameSite=Lax".
type CookieConfig struct {
	// Name of the cookie. Empty: "__Host-session" (Secure, Path=/, no
	// Domain: a sibling subdomain cannot set or overwrite it, which closes
	// Django's documented cookie-tossing fixation), "__Secure-session" when
	// Domain or Path is set, "session" with AllowInsecureCookie. A name
	// with the __Host- or __Secure- prefix must satisfy its prefix's rules.
	Name string `toml:"name"`

	// Domain (SESSION_COOKIE_DOMAIN). Empty: no Domain attribute, the
	// cookie goes to this host only. Setting it shares the session with
	// every subdomain, and lets each of them set it.
	Domain string `toml:"domain"`

	// Path (SESSION_COOKIE_PATH). Empty: "/".
	Path string `toml:"path"`

	// SameSite is "Lax", "Strict" or "None" (case-insensitive). Empty:
	// "Lax". "None" requires Secure (browsers drop it otherwise).
	SameSite string `toml:"same_site"`

	// AllowInsecureCookie drops the Secure attribute, so the cookie is
	// also sent over plain HTTP, where anyone on the network can read it.
	// For local development over http:// only. Default false.
	AllowInsecureCookie bool `toml:"allow_insecure_cookie"`

	// AllowInsecureScriptAccess drops HttpOnly, so page scripts (and any
	// XSS) can read the session cookie. Default false.
	AllowInsecureScriptAccess bool `toml:"allow_insecure_script_access"`

	// AllowInsecureNoSameSite omits the SameSite attribute (Django's
	// SESSION_COOKIE_SAMESITE = False): browsers then apply their own
	// default, which is not Lax everywhere. Default false.
	AllowInsecureNoSameSite bool `toml:"allow_insecure_no_same_site"`
}

// WithDefaults returns c with the defaults New applies filled in (the
// lifetime, the store timeout and the cookie's, see
// CookieConfig.WithDefaults): what
// "bulwark check" prints. The result means the same as c.
func (c Config) WithDefaults() Config {
	if c.Lifetime == 0 {
		c.Lifetime = DefaultLifetime
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	c.Cookie = c.Cookie.WithDefaults()
	return c
}

// WithDefaults returns c with the defaults the Manager applies filled in:
// the path "/", the name (by Secure, Domain and Path: see Name) and
// SameSite=Lax unless AllowInsecureNoSameSite.
func (c CookieConfig) WithDefaults() CookieConfig {
	if c.Path == "" {
		c.Path = "/"
	}
	if c.Name == "" {
		c.Name = defaultCookieName(!c.AllowInsecureCookie, c.Domain, c.Path)
	}
	if c.SameSite == "" && !c.AllowInsecureNoSameSite {
		c.SameSite = "Lax"
	}
	return c
}

// defaultCookieName is the cookie name when none is set: the strongest
// prefix the other attributes allow.
func defaultCookieName(secure bool, domain, path string) string {
	switch {
	case !secure:
		return "session"
	case domain == "" && path == "/":
		return "__Host-session"
	}
	return "__Secure-session"
}

// ErrConfig is wrapped by every configuration error of New and Validate.
var ErrConfig = errors.New("session: invalid configuration")

// Validate reports whether c can build a Manager.
func (c Config) Validate() error {
	switch {
	case c.Store == nil && c.CookieStore == nil:
		return fmt.Errorf("%w: no Store or CookieStore", ErrConfig)
	case c.Store != nil && c.CookieStore != nil:
		return fmt.Errorf("%w: both Store and CookieStore are set", ErrConfig)
	case c.Lifetime < 0:
		return fmt.Errorf("%w: lifetime: negative %v", ErrConfig, c.Lifetime)
	case c.IdleTimeout < 0:
		return fmt.Errorf("%w: idle_timeout: negative %v", ErrConfig, c.IdleTimeout)
	case c.StoreTimeout < 0:
		return fmt.Errorf("%w: store_timeout: negative %v", ErrConfig, c.StoreTimeout)
	}
	return c.Cookie.Validate()
}

// Validate reports whether the cookie settings are consistent.
func (c CookieConfig) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is a CookieConfig with its defaults applied.
type resolved struct {
	name, domain, path, sameSite string
	secure, httpOnly             bool
}

func (c CookieConfig) resolve() (resolved, error) {
	r := resolved{
		name: c.Name, domain: c.Domain, path: c.Path,
		secure: !c.AllowInsecureCookie, httpOnly: !c.AllowInsecureScriptAccess,
	}
	if r.path == "" {
		r.path = "/"
	}
	if r.name == "" {
		r.name = defaultCookieName(r.secure, r.domain, r.path)
	}
	if !validToken(r.name) {
		return r, fmt.Errorf("%w: cookie.name: invalid %q", ErrConfig, r.name)
	}
	if strings.ContainsAny(r.domain+r.path, ";\r\n\x00") || strings.ContainsAny(r.domain, " ,") || r.path[0] != '/' {
		return r, fmt.Errorf("%w: invalid cookie domain %q or path %q", ErrConfig, r.domain, r.path)
	}
	if strings.HasPrefix(r.name, "__Host-") && (!r.secure || r.domain != "" || r.path != "/") {
		return r, fmt.Errorf("%w: cookie %q needs Secure, Path=/ and no Domain (the __Host- prefix)", ErrConfig, r.name)
	}
	if strings.HasPrefix(r.name, "__Secure-") && !r.secure {
		return r, fmt.Errorf("%w: cookie %q needs Secure (the __Secure- prefix)", ErrConfig, r.name)
	}
	switch strings.ToLower(c.SameSite) {
	case "", "lax":
		r.sameSite = "Lax"
	case "strict":
		r.sameSite = "Strict"
	case "none":
		if !r.secure {
			return r, fmt.Errorf("%w: SameSite=None needs a Secure cookie (browsers drop it otherwise)", ErrConfig)
		}
		r.sameSite = "None"
	default:
		return r, fmt.Errorf("%w: cookie.same_site: invalid %q", ErrConfig, c.SameSite)
	}
	if c.AllowInsecureNoSameSite {
		if c.SameSite != "" {
			return r, fmt.Errorf("%w: both SameSite and AllowInsecureNoSameSite are set", ErrConfig)
		}
		r.sameSite = ""
	}
	return r, nil
}

// validToken reports whether s is an RFC 9110 token (a valid cookie name).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}
