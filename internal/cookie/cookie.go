// Package cookie writes Set-Cookie headers exactly as Django does (Python's
// http.cookies.Morsel, driven by HttpResponse.set_cookie and delete_cookie),
// so the session and CSRF layers emit byte-identical headers to Django's
// and can be tested against its vectors.
//
// The format: "name=value" then the attributes sorted by Python's key
// names (Domain, expires, HttpOnly, Max-Age, Path, SameSite, Secure);
// values outside Python's legal cookie characters are double-quoted with
// backslash-octal escapes, and an empty value is written "".
package cookie

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Epoch is the expires value delete_cookie writes.
const Epoch = "Thu, 01 Jan 1970 00:00:00 GMT"

// Cookie is one cookie's attributes, Django's Morsel. Empty strings, false
// flags and HasMaxAge false are absent attributes.
type Cookie struct {
	Name    string
	Value   string
	Domain  string
	Expires string // an HTTP date, written verbatim
	// ExpiresAt, when Expires is empty and ExpiresAt is not zero, is
	// written as an HTTP date (saves formatting into a string first).
	ExpiresAt time.Time
	MaxAge    int
	// HasMaxAge says whether MaxAge is set (Max-Age=0 deletes).
	HasMaxAge bool
	Path      string
	SameSite  string // written with the caller's casing
	Secure    bool
	HttpOnly  bool
}

// String returns the Set-Cookie header value.
func (c *Cookie) String() string {
	return string(c.Append(make([]byte, 0, 64+len(c.Value))))
}

// Append appends the Set-Cookie header value to b.
func (c *Cookie) Append(b []byte) []byte {
	b = append(b, c.Name...)
	b = append(b, '=')
	b = AppendQuoted(b, c.Value)
	if c.Domain != "" {
		b = append(b, "; Domain="...)
		b = append(b, c.Domain...)
	}
	if c.Expires != "" {
		b = append(b, "; expires="...)
		b = append(b, c.Expires...)
	} else if !c.ExpiresAt.IsZero() {
		b = append(b, "; expires="...)
		b = AppendHTTPDate(b, c.ExpiresAt)
	}
	if c.HttpOnly {
		b = append(b, "; HttpOnly"...)
	}
	if c.HasMaxAge {
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64(c.MaxAge), 10)
	}
	if c.Path != "" {
		b = append(b, "; Path="...)
		b = append(b, c.Path...)
	}
	if c.SameSite != "" {
		b = append(b, "; SameSite="...)
		b = append(b, c.SameSite...)
	}
	if c.Secure {
		b = append(b, "; Secure"...)
	}
	return b
}

// legal reports Python's _LegalChars: letters, digits and !#$%&'*+-.^_`|~:
func legal(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~:", c) >= 0
}

// AppendQuoted appends v as Python's http.cookies._quote writes it: bare
// when every byte is legal (and v is not empty), else double-quoted with
// '"' and '\' backslash-escaped and bytes outside the unescaped set (legal
// characters plus space and ()/<=>?@[]{}) written as \ooo. Runes above
// U+00FF are kept as they are, as Python keeps them.
func AppendQuoted(b []byte, v string) []byte {
	bare := v != ""
	for i := 0; i < len(v); i++ {
		if !legal(v[i]) {
			bare = false
			break
		}
	}
	if bare {
		return append(b, v...)
	}
	b = append(b, '"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x80 && (legal(byte(r)) || strings.IndexByte(" ()/<=>?@[]{}", byte(r)) >= 0):
			b = append(b, byte(r))
		case r <= 0xff:
			b = append(b, '\\', '0'+byte(r>>6), '0'+byte(r>>3&7), '0'+byte(r&7))
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}

// Jar is a response's cookies, as Django's HttpResponse.cookies: setting a
// cookie that is already in the jar keeps the attributes a later call does
// not overwrite (Python's SimpleCookie behaviour).
type Jar struct {
	// Now is the clock for expires. Nil: time.Now.
	Now     func() time.Time
	cookies map[string]*Cookie
	order   []string
}

// Options are set_cookie's keyword arguments.
type Options struct {
	// MaxAge (nil: none) is truncated to whole seconds.
	MaxAge *time.Duration
	// ExpiresAt (zero: none) is converted into a Max-Age as Django does.
	ExpiresAt time.Time
	// Expires (empty: none) is written verbatim.
	Expires string
	// Path is written when non-nil (set_cookie's default "/": use Root).
	Path     *string
	Domain   string
	Secure   bool
	HttpOnly bool
	SameSite string
}

// Root is the default path "/", for Options.Path.
func Root() *string { s := "/"; return &s }

// ErrSameSite is Django's error for an unknown samesite value.
var ErrSameSite = errors.New(`cookie: samesite must be "lax", "none", or "strict"`)

// ErrExpiresAndMaxAge is Django's error for both expires and max_age.
var ErrExpiresAndMaxAge = errors.New("cookie: 'expires' and 'max_age' can't be used together")

func (j *Jar) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// HTTPDate formats t as Django's http_date (RFC 1123, GMT).
func HTTPDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// SetCookie is HttpResponse.set_cookie.
func (j *Jar) SetCookie(name, value string, o Options) error {
	if o.SameSite != "" {
		switch strings.ToLower(o.SameSite) {
		case "lax", "none", "strict":
		default:
			return ErrSameSite
		}
	}
	if j.cookies == nil {
		j.cookies = map[string]*Cookie{}
	}
	c, ok := j.cookies[name]
	if !ok {
		c = &Cookie{Name: name}
		j.cookies[name] = c
		j.order = append(j.order, name)
	}
	c.Value = value
	maxAge := o.MaxAge
	expires := o.Expires
	switch {
	case !o.ExpiresAt.IsZero():
		if maxAge != nil {
			return ErrExpiresAndMaxAge
		}
		// Django adds one second "so the date matches exactly" and clamps
		// at zero; whole seconds, like timedelta.days*86400+seconds.
		d := o.ExpiresAt.Sub(j.now()) + time.Second
		s := time.Duration(0)
		if d > 0 {
			s = d.Truncate(time.Second)
		}
		maxAge = &s
	case expires != "":
		c.Expires = expires
	default:
		c.Expires = ""
	}
	if maxAge != nil {
		c.MaxAge, c.HasMaxAge = int(*maxAge/time.Second), true
		if expires == "" {
			c.Expires = HTTPDate(j.now().Add(*maxAge))
		}
	}
	if o.Path != nil {
		c.Path = *o.Path
	}
	if o.Domain != "" {
		c.Domain = o.Domain
	}
	if o.Secure {
		c.Secure = true
	}
	if o.HttpOnly {
		c.HttpOnly = true
	}
	if o.SameSite != "" {
		c.SameSite = o.SameSite
	}
	return nil
}

// DeleteCookie is HttpResponse.delete_cookie: an empty value, Max-Age=0
// and an expires in 1970, Secure when the name has a __Secure- or __Host-
// prefix (browsers ignore the deletion otherwise) or SameSite is None.
func (j *Jar) DeleteCookie(name, path, domain, sameSite string) error {
	zero := time.Duration(0)
	secure := strings.HasPrefix(name, "__Secure-") || strings.HasPrefix(name, "__Host-") || strings.EqualFold(sameSite, "none")
	return j.SetCookie(name, "", Options{MaxAge: &zero, Expires: Epoch, Path: &path, Domain: domain, Secure: secure, SameSite: sameSite})
}

// Get returns the cookie named name.
func (j *Jar) Get(name string) (*Cookie, bool) {
	c, ok := j.cookies[name]
	return c, ok
}

// Headers returns the Set-Cookie header values in the order the cookies
// were first set.
func (j *Jar) Headers() []string {
	out := make([]string, 0, len(j.order))
	for _, n := range j.order {
		out = append(out, j.cookies[n].String())
	}
	return out
}

// AppendHTTPDate appends t as an HTTP date (http.TimeFormat, in GMT), the
// same bytes as t.UTC().AppendFormat(b, http.TimeFormat) without the
// layout interpretation: it runs for every session cookie.
func AppendHTTPDate(b []byte, t time.Time) []byte {
	t = t.UTC()
	yy, mm, dd := t.Date()
	if yy < 0 || yy > 9999 {
		return t.AppendFormat(b, http.TimeFormat)
	}
	hh, mi, ss := t.Clock()
	two := func(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
	b = append(b, t.Weekday().String()[:3]...)
	b = append(b, ", "...)
	b = two(b, dd)
	b = append(b, ' ')
	b = append(b, mm.String()[:3]...)
	b = append(b, ' ')
	b = two(b, yy/100)
	b = two(b, yy%100)
	b = append(b, ' ')
	b = two(b, hh)
	b = append(b, ':')
	b = two(b, mi)
	b = append(b, ':')
	b = two(b, ss)
	return append(b, " GMT"...)
}

// Vary adds "Cookie" to the Vary header of h unless a Vary line already
// lists it (any case) or "*" (Django's patch_vary_headers(response,
// ("Cookie",))). A response that depends on a cookie must say so, or a
// shared cache hands one client's page to another. It does not allocate
// when Cookie is listed already.
func Vary(h http.Header) {
	for _, line := range h["Vary"] {
		for line != "" {
			var v string
			v, line, _ = strings.Cut(line, ",")
			v = strings.Trim(v, " \t")
			if v == "*" || strings.EqualFold(v, "Cookie") {
				return
			}
		}
	}
	h["Vary"] = append(h["Vary"], "Cookie")
}
