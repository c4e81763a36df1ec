package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/internal/refusal"
)

// Seeds for the Set-Cookie fuzz target: Django's cookie shapes, attributes
// in odd cases and orders, and malformed lines.
var cookieSeeds = []string{
	"sessionid=abc; expires=Thu, 01 Jan 2026 00:00:00 GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax",
	"csrftoken=tok; Path=/; SameSite=Strict; Secure",
	"sessionid=abc",
	"a=b; secure; HTTPONLY; samesite=none",
	"a=b; SameSite=Bogus; SameSite=Strict",
	"a=\"quoted value\"; Path=/",
	"a=b; Partitioned; Secure; SameSite=None",
	"a=b;;;",
	"bad name=1",
	"=nameless",
	"a=b; Secure=false",
	"",
}

func FuzzHardenSetCookie(f *testing.F) {
	for _, s := range cookieSeeds {
		f.Add(s)
	}
	h := newCookieHardener(CookieConfig{HTTPOnly: []string{"sessionid"}})
	f.Fuzz(func(t *testing.T, line string) {
		out, ok := h.hardenLine(line, true)
		if !ok {
			// Dropped lines must be ones net/http refuses.
			if _, err := http.ParseSetCookie(line); err == nil {
				t.Fatalf("dropped a parsable cookie %q", line)
			}
			return
		}
		// Property: what leaves parses, keeps the name and value, and is
		// Secure, SameSite and (for configured names) HttpOnly.
		in, _ := http.ParseSetCookie(line)
		c, err := http.ParseSetCookie(out)
		if err != nil {
			t.Fatalf("hardened %q into unparsable %q: %v", line, out, err)
		}
		if c.Name != in.Name || c.Value != in.Value {
			t.Fatalf("name/value changed: %q -> %q", line, out)
		}
		if !c.Secure {
			t.Fatalf("not Secure: %q -> %q", line, out)
		}
		if c.SameSite != http.SameSiteLaxMode && c.SameSite != http.SameSiteStrictMode && c.SameSite != http.SameSiteNoneMode {
			t.Fatalf("no valid SameSite: %q -> %q", line, out)
		}
		if c.Name == "sessionid" && !c.HttpOnly {
			t.Fatalf("session cookie not HttpOnly: %q -> %q", line, out)
		}
	})
}

func TestCookieSeedsNotEmpty(t *testing.T) {
	if len(cookieSeeds) == 0 {
		t.Fatal("no seeds")
	}
}

func FuzzIsProxyHeader(f *testing.F) {
	for _, s := range []string{"X-Forwarded-For", "x_forwarded_proto", "X-Real-IP", "X_REAL_IP", "Forwarded", "X-Forwardedfor", "Content-Type", "X-Forwarded", "x-forwarded-", "True-Client-IP"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		// Property: the result equals a straightforward reference (fold
		// case and '_' to '-', then compare), so no spelling slips by.
		n := strings.ReplaceAll(strings.ToLower(name), "_", "-")
		want := len(name) <= 64 && (n == "x-forwarded" || strings.HasPrefix(n, "x-forwarded-") || proxyHeaders[n] || strippedHeaders[n])
		if strings.ToLower(name) != asciiLower(name) {
			return // non-ASCII case folding is not HTTP's
		}
		if got := isProxyHeader(name); got != want {
			t.Fatalf("isProxyHeader(%q) = %v, want %v", name, got, want)
		}
	})
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func TestStripProxyHeadersAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	h := http.Header{
		"Accept": {"*/*"}, "User-Agent": {"x"}, "Cookie": {"a=b"}, "Content-Type": {"text/plain"},
		"Accept-Encoding": {"gzip"}, "Accept-Language": {"en"}, "Sec-Fetch-Site": {"same-origin"},
	}
	if n := testing.AllocsPerRun(100, func() { stripProxyHeaders(h, false) }); n != 0 {
		t.Errorf("stripProxyHeaders allocates %v times per request", n)
	}
}

func TestHardenCookieAlreadyHardAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	h := newCookieHardener(CookieConfig{HTTPOnly: []string{"sessionid"}})
	hdr := http.Header{"Set-Cookie": {"sessionid=abc; Path=/; Secure; HttpOnly; SameSite=Lax"}}
	// ParseSetCookie itself allocates (the cookie and its split); the
	// hardening adds nothing when the cookie is already hard.
	base := testing.AllocsPerRun(100, func() { http.ParseSetCookie(hdr["Set-Cookie"][0]) })
	if n := testing.AllocsPerRun(100, func() { h.harden(hdr, true) }); n > base {
		t.Errorf("harden allocates %v times, ParseSetCookie alone %v", n, base)
	}
}

func TestCSRFCovers(t *testing.T) {
	app := []string{"/app/"}
	for _, tc := range []struct {
		prefixes []string
		path     string
		want     bool
	}{
		{app, "/app/form", true},
		{app, "/app", true},
		{app, "/api/hook", false},
		{app, "/api/../app/form", true}, // cleaned
		{app, "/app/../api/hook", true}, // as sent
		{app, "//app/form", true},
		{app, "/app/./form", true},
		{app, "/apps/x", false},
		{[]string{"/app"}, "/app", true}, // exact
		{[]string{"/app"}, "/app/x", false},
		{[]string{"/app"}, "/apps", false},
		{[]string{"/app"}, "/x/../app", true},
		{[]string{"/"}, "/anything", true},
		{nil, "/anything", true}, // empty: every path (fail closed)
		{[]string{}, "/anything", true},
	} {
		if got := csrfCovers(pathset.MustParse(tc.prefixes...), tc.path); got != tc.want {
			t.Errorf("csrfCovers(%q, %q) = %v, want %v", tc.prefixes, tc.path, got, tc.want)
		}
	}
}

func TestHasDotSegment(t *testing.T) {
	for path, want := range map[string]bool{
		"/":                 false,
		"/upload/a.png":     false,
		"/.well-known/x":    false,
		"/a/..b/c.":         false,
		"/upload/../x":      true,
		"/x/./upload":       true,
		"/x/..":             true,
		"/x/.":              true,
		"..":                true,
		"/upload//../x":     true,
		"/static/app...css": false,
	} {
		if got := hasDotSegment(path); got != want {
			t.Errorf("hasDotSegment(%q) = %v, want %v", path, got, want)
		}
	}
	if raceEnabled {
		return
	}
	if n := testing.AllocsPerRun(100, func() { hasDotSegment("/upload/avatar/photo.png") }); n != 0 {
		t.Errorf("hasDotSegment allocates %v times", n)
	}
}

func TestCSRFCoversAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	paths := pathset.MustParse("/upload/", "/api")
	for _, p := range []string{"/", "/echo", "/upload/avatar/", "/static/css/site.css"} {
		if n := testing.AllocsPerRun(100, func() { csrfCovers(paths, p) }); n != 0 {
			t.Errorf("csrfCovers(%q) allocates %v times", p, n)
		}
	}
}

// TestLabel: refusals are counted by their slug as is; anything else is
// one bounded label, never a series per value.
func TestLabel(t *testing.T) {
	for in, want := range map[string]string{
		"disallowed_host":        "disallowed_host",
		"bad_origin":             "bad_origin",
		"CSRF cookie not set.":   refusal.InvalidReason,
		"host \"evil\"":          refusal.InvalidReason,
		"":                       "",
		strings.Repeat("a", 100): refusal.InvalidReason,
	} {
		if got := label(in); got != want {
			t.Errorf("label(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestObserveAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	m := newMetrics()
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	req, _ := http.NewRequest("GET", "https://example.com/x", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	w := &discardWriter{h: http.Header{}}
	base := testing.AllocsPerRun(200, func() { noop.ServeHTTP(w, req) })
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	file := newBufferedFile(f)
	defer file.Close()
	for _, tc := range []struct {
		name   string
		access *accessLog
		max    float64
	}{
		// observe is the top of the chain: the request's record (its
		// context node and the request copy, which the layers behind it
		// no longer pay). The request id lives in the record: free.
		{"no access log", nil, 2},
		// Written to a file, the line is formatted into a pooled buffer:
		// free.
		{"access log file", &accessLog{file: file}, 2},
		// Through a slog.Logger: the client address string, the request
		// id string and slog's attribute overflow (more than five
		// attributes).
		{"access log to a logger", &accessLog{logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}, 5},
	} {
		h := observe(noop, tc.access, m, nil, nil)
		if n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) }) - base; n != tc.max {
			t.Errorf("%s: observe costs %v allocations per request, want %v", tc.name, n, tc.max)
		}
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// TestValidatedHostPort: the port of a validated host, IPv6 literals
// included; a host without one gives "" (the listener's port is used).
func TestValidatedHostPort(t *testing.T) {
	for host, want := range map[string]string{
		"example.com":       "",
		"example.com:8443":  "8443",
		"[::1]":             "",
		"[::1]:8443":        "8443",
		"[2001:db8::1]":     "",
		"192.0.2.1:80":      "80",
		"":                  "",
		"example.com:":      "",
		"[2001:db8::1]:443": "443",
	} {
		if got := validatedHostPort(host); got != want {
			t.Errorf("validatedHostPort(%q) = %q, want %q", host, got, want)
		}
	}
}

// TestCanonicalPort: canonicalPort takes exactly the ports strconv.Itoa
// prints back, 1 to 65535 (what the check it replaces took).
func TestCanonicalPort(t *testing.T) {
	for n := -2; n <= 70000; n++ {
		p := strconv.Itoa(n)
		got, ok := canonicalPort(p)
		want := n >= 1 && n <= 65535
		if ok != want || ok && got != n {
			t.Fatalf("canonicalPort(%q) = %d, %v", p, got, ok)
		}
	}
	for _, p := range []string{"", "08443", "+443", "-1", "443 ", " 443", "4a3", "0", "00", "065535", "123456", "99999"} {
		if n, ok := canonicalPort(p); ok {
			t.Errorf("canonicalPort(%q) = %d, true", p, n)
		}
	}
}
