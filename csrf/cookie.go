package csrf

import (
	"net/http"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cookie"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// CookieName returns the name the secret's cookie has for r: "__Host-" +
// Config.CookieName over HTTPS (or "__Secure-" when a cookie domain or path
// rules __Host- out), Config.CookieName over plain HTTP. Scripts that copy
// the cookie into the token header must read this name.
//
// The prefix is what makes the cookie trustworthy: a browser accepts a
// __Host- cookie only from a secure origin, for exactly this host and
// path "/", so neither a sibling subdomain nor a network attacker writing
// through plain HTTP can plant one (cookie tossing). On plain HTTP the
// prefix cannot be used, and the Origin layer carries the defence alone.
func (p *Protection) CookieName(r *http.Request) string {
	return p.cookieName(trustedproxy.IsSecure(r))
}

func (p *Protection) cookieName(secure bool) string {
	if secure {
		return p.secureName
	}
	return p.plainName
}

// newCookie builds the Set-Cookie value for secret with Django's attributes
// (d.9): Max-Age and Expires from CookieMaxAge, Domain, Path, SameSite,
// HttpOnly; Secure whenever it can be (an HTTPS request, CookieSecure,
// SameSite=None or a prefixed name).
//
// It is written by internal/cookie, the writer of the session cookie too,
// in Django's exact format (Python's Morsel).
func (p *Protection) newCookie(secure bool, secret string) string {
	name := p.cookieName(secure)
	c := cookie.Cookie{
		Name:   name,
		Value:  secret,
		Path:   p.cookiePath,
		Domain: p.cfg.CookieDomain,
		Secure: secure || p.cfg.CookieSecure || p.sameSite == http.SameSiteNoneMode ||
			strings.HasPrefix(name, "__Host-") || strings.HasPrefix(name, "__Secure-"),
		HttpOnly: p.cfg.CookieHTTPOnly,
		SameSite: sameSiteNames[p.sameSite],
	}
	if p.maxAge > 0 {
		c.MaxAge, c.HasMaxAge = max(1, int(p.maxAge/time.Second)), true
		c.ExpiresAt = time.Now().Add(time.Duration(c.MaxAge) * time.Second)
	}
	return c.String()
}

// sameSiteNames are the SameSite attribute values as Django writes them.
var sameSiteNames = map[http.SameSite]string{
	http.SameSiteLaxMode:    "Lax",
	http.SameSiteStrictMode: "Strict",
	http.SameSiteNoneMode:   "None",
}

// cookieValue returns the value of the cookie called name in r's Cookie
// headers, without allocating. Like Django's parse_cookie, the last of
// several cookies with one name wins and a quoted value is unquoted.
func cookieValue(r *http.Request, name string) (string, bool) {
	var val string
	found := false
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			if trimOWS(k) != name {
				continue
			}
			val, found = unquoteCookie(trimOWS(v)), true
		}
	}
	return val, found
}

func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// unquoteCookie removes the double quotes around a cookie value. Escapes
// inside quotes are left as they are: they cannot produce a valid secret
// except by an octal spelling of an alphanumeric character, which no
// Bulwark or Django response ever writes.
func unquoteCookie(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}
