package gateway

import (
	"net/http"
	"strings"
)

// cookieHardener adds the attributes a deployment checklist asks for to
// every Set-Cookie the upstream sends, so that an app that forgot
// SESSION_COOKIE_SECURE or CSRF_COOKIE_SECURE still ships safe cookies.
type cookieHardener struct {
	httpOnly      map[string]bool
	keepNoSameSit bool
}

func newCookieHardener(c CookieConfig) *cookieHardener {
	h := &cookieHardener{httpOnly: make(map[string]bool, len(c.HTTPOnly)), keepNoSameSit: c.AllowInsecureNoSameSite}
	for _, n := range c.HTTPOnly {
		h.httpOnly[n] = true
	}
	return h
}

// harden rewrites the Set-Cookie lines of h in place. It returns the
// number of lines dropped because they could not be parsed.
//
// https is whether the client's request was secure: Secure is added only
// then (a plain-HTTP site, allowed with https.allow_insecure_http, could
// not set a Secure cookie at all).
func (ch *cookieHardener) harden(h http.Header, https bool) (dropped int) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return 0
	}
	out := lines[:0]
	for _, line := range lines {
		v, ok := ch.hardenLine(line, https)
		if !ok {
			dropped++
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = out
	}
	return dropped
}

// hardenLine returns line with Secure, HttpOnly (for the configured names)
// and SameSite=Lax (when absent or invalid) added.
//
// The line is first parsed with net/http (ParseSetCookie): a line it
// rejects (bad name, bad value) is dropped, failing closed: browsers are
// more lenient than the parser, and passing an unparsed cookie would pass
// it unhardened. The line is not re-serialised from the parsed Cookie
// (Cookie.String drops attributes it does not know, such as Partitioned on
// older versions or a vendor's own, and re-quotes values); instead its own
// attributes are kept byte for byte and only missing ones are appended.
func (ch *cookieHardener) hardenLine(line string, https bool) (string, bool) {
	c, err := http.ParseSetCookie(line)
	if err != nil {
		return "", false
	}
	// The decision follows net/http's reading of the line, so that what
	// leaves parses (with net/http, and a fortiori with browsers, which are
	// more lenient) as Secure, SameSite and HttpOnly. Where a browser would
	// read more than net/http (an attribute with a malformed value, such as
	// `Secure="`), appending a clean attribute is harmless.
	secure, httpOnly := c.Secure || !https, c.HttpOnly
	sameSite := c.SameSite == http.SameSiteLaxMode || c.SameSite == http.SameSiteStrictMode || c.SameSite == http.SameSiteNoneMode
	badSameSite := !sameSite && hasAttr(line, "samesite")
	needHTTPOnly := !httpOnly && ch.httpOnly[c.Name]
	if secure && !needHTTPOnly && (sameSite || ch.keepNoSameSit) && !badSameSite {
		return line, true // the common case: nothing to add, no allocation
	}
	if badSameSite {
		// An unknown SameSite value is ignored by browsers, which then
		// apply their own default; drop it so ours is the only one.
		line = dropAttr(line, "samesite")
	}
	var b strings.Builder
	b.Grow(len(line) + 32)
	b.WriteString(strings.TrimRight(line, "; \t"))
	if !secure {
		b.WriteString("; Secure")
	}
	if needHTTPOnly {
		b.WriteString("; HttpOnly")
	}
	if !sameSite && !ch.keepNoSameSit {
		b.WriteString("; SameSite=Lax")
	}
	return b.String(), true
}

// dropAttr removes every attribute named name (any case) from a Set-Cookie
// line, keeping the name=value pair and the other attributes as they were.
func dropAttr(line, name string) string {
	parts := strings.Split(line, ";")
	out := parts[:1]
	for _, p := range parts[1:] {
		n, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(n), name) {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ";")
}

// hasAttr reports whether a Set-Cookie line has an attribute named name
// (any case, with or without a value).
func hasAttr(line, name string) bool {
	_, rest, ok := strings.Cut(line, ";")
	for ok {
		var attr string
		attr, rest, ok = strings.Cut(rest, ";")
		n, _, _ := strings.Cut(strings.TrimSpace(attr), "=")
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}
