package hosts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"

	"github.com/bulwarkdev/bulwark/hosts"
)

var siteHosts = []string{"example.com", ".tenant.example", "192.0.2.1", "[2001:db8::1]", "INSENSITIVE.example"}

func TestCheck(t *testing.T) {
	site, err := hosts.New(hosts.Config{Allowed: siteHosts})
	if err != nil {
		t.Fatal(err)
	}
	anyHost, err := hosts.New(hosts.Config{Allowed: []string{"*"}, AllowInsecureAnyHost: true})
	if err != nil {
		t.Fatal(err)
	}
	none, err := hosts.New(hosts.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		v      *hosts.Validator
		host   string
		reason string // "" when allowed, else HostError.Reason()
	}{
		{"exact", site, "example.com", ""},
		{"exact with port", site, "example.com:8080", ""},
		{"case-insensitive request", site, "EXAMPLE.Com", ""},
		{"case-insensitive entry", site, "insensitive.example", ""},
		{"one trailing dot", site, "example.com.", ""},
		{"trailing dot and port", site, "example.com.:443", ""},
		{"port digits not range-checked (as Django)", site, "example.com:99999", ""},
		{"wildcard apex", site, "tenant.example", ""},
		{"wildcard subdomain", site, "a.tenant.example", ""},
		{"wildcard deep subdomain", site, "a.b.c.tenant.example", ""},
		{"IPv4", site, "192.0.2.1:80", ""},
		{"bracketed IPv6", site, "[2001:db8::1]:8443", ""},
		{"bracketed IPv6 upper-case", site, "[2001:DB8::1]", ""},
		{"attack: other host", site, "evil.example", "host_not_allowed"},
		{"attack: suffix without dot boundary", site, "eviltenant.example", "host_not_allowed"},
		{"attack: allowed name as a subdomain of evil", site, "example.com.evil.example", "host_not_allowed"},
		{"attack: two trailing dots", site, "example.com..", "host_not_allowed"},
		{"attack: IPv6 not normalised", site, "[2001:db8:0:0:0:0:0:1]", "host_not_allowed"},
		{"attack: v4-mapped metadata address", site, "[::ffff:169.254.169.254]", "host_not_allowed"},
		{"attack: user info", site, "example.com@evil.example", "invalid_host"},
		{"attack: user info with port", site, "example.com:x@evil.example:80", "invalid_host"},
		{"attack: path", site, "example.com/evil", "invalid_host"},
		{"attack: space", site, "example.com evil.example", "invalid_host"},
		{"attack: CRLF", site, "example.com\r\nX-Evil: 1", "invalid_host"},
		{"attack: trailing newline", site, "example.com\n", "invalid_host"},
		{"attack: NUL", site, "example.com\x00.evil", "invalid_host"},
		{"attack: underscore", site, "ex_ample.com", "invalid_host"},
		{"attack: Kelvin sign (Python lower-cases it to k)", site, "\u212a.example", "invalid_host"},
		{"attack: non-ASCII", site, "exämple.com", "invalid_host"},
		{"attack: empty port", site, "example.com:", "invalid_host"},
		{"attack: bare IPv6", site, "2001:db8::1", "invalid_host"},
		{"attack: IPv6 zone", site, "[fe80::1%25eth0]", "invalid_host"},
		{"attack: unterminated IPv6", site, "[2001:db8::1", "invalid_host"},
		{"attack: empty", site, "", "invalid_host"},
		{"attack: lone dot", site, ".", "invalid_host"},
		{"attack: comma list", site, "example.com, evil.example", "invalid_host"},
		{"attack: huge", site, strings.Repeat("a", 1<<16) + ".example", "host_not_allowed"},
		{"any host: valid", anyHost, "whatever.example:81", ""},
		{"attack: any host still refuses invalid syntax", anyHost, "example.com@evil.example", "invalid_host"},
		{"attack: any host refuses empty", anyHost, "", "invalid_host"},
		{"empty config allows nothing", none, "example.com", "host_not_allowed"},
		{"attack: empty config, localhost", none, "localhost", "host_not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Host = tt.host
			err := tt.v.Check(r)
			if herr := tt.v.CheckHost(tt.host); (herr == nil) != (err == nil) {
				t.Fatalf("CheckHost = %v but Check = %v", herr, err)
			}
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v", tt.host, err)
				}
				return
			}
			var he *hosts.HostError
			if !errors.As(err, &he) || !errors.Is(err, hosts.ErrDisallowedHost) {
				t.Fatalf("Check(%q) = %v, want a HostError", tt.host, err)
			}
			if he.Reason() != tt.reason || he.Host != tt.host {
				t.Errorf("reason %q host %q, want %q %q", he.Reason(), he.Host, tt.reason, tt.host)
			}
			if !strings.HasPrefix(err.Error(), "hosts: disallowed host: Invalid HTTP_HOST header: ") {
				t.Errorf("error %q", err)
			}
		})
	}
}

func TestDjangoMessageQuoting(t *testing.T) {
	for _, tt := range []struct{ host, want string }{
		{"evil.example", `Invalid HTTP_HOST header: 'evil.example'. You may need to add 'evil.example' to ALLOWED_HOSTS.`},
		{"EVIL.example.:80", `Invalid HTTP_HOST header: 'EVIL.example.:80'. You may need to add 'evil.example' to ALLOWED_HOSTS.`},
		{"a'b", `Invalid HTTP_HOST header: "a'b". The domain name provided is not valid according to RFC 1034/1035.`},
		{`a'b"c`, `Invalid HTTP_HOST header: 'a\'b"c'. The domain name provided is not valid according to RFC 1034/1035.`},
		{"a\r\n\tb\\\x00\x7f", `Invalid HTTP_HOST header: 'a\r\n\tb\\\x00\x7f'. The domain name provided is not valid according to RFC 1034/1035.`},
		{"bücher\u00a0\u200b\U0001F600\xff", `Invalid HTTP_HOST header: 'bücher\xa0\u200b` + "\U0001F600" + `\xff'. The domain name provided is not valid according to RFC 1034/1035.`},
	} {
		he := &hosts.HostError{Host: tt.host}
		if d, _ := hosts.SplitDomainPort(tt.host); d != "" {
			he.Domain = d
		}
		if got := he.DjangoMessage(); got != tt.want {
			t.Errorf("DjangoMessage(%q)\n got %s\nwant %s", tt.host, got, tt.want)
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name    string
		cfg     hosts.Config
		entries []string // nil: not an EntryError
		want    string
	}{
		{"star without opt-in", hosts.Config{Allowed: []string{"example.com", "*"}}, nil, "allow_insecure_any_host"},
		{"port", hosts.Config{Allowed: []string{"example.com:443"}}, []string{"example.com:443"}, `"example.com:443"`},
		{"trailing dot", hosts.Config{Allowed: []string{"example.com."}}, []string{"example.com."}, `"example.com."`},
		{"empty", hosts.Config{Allowed: []string{""}}, []string{""}, `""`},
		{"lone dot", hosts.Config{Allowed: []string{"."}}, []string{"."}, `"."`},
		{"double dot", hosts.Config{Allowed: []string{"..example.com"}}, []string{"..example.com"}, `"..example.com"`},
		{"underscore", hosts.Config{Allowed: []string{"my_host.example"}}, []string{"my_host.example"}, `"my_host.example"`},
		{"space", hosts.Config{Allowed: []string{"example.com "}}, []string{"example.com "}, `"example.com "`},
		{"scheme", hosts.Config{Allowed: []string{"https://example.com"}}, []string{"https://example.com"}, `"https://example.com"`},
		{"bare IPv6", hosts.Config{Allowed: []string{"::1"}}, []string{"::1"}, `"::1"`},
		{"bracketed IPv6 with port", hosts.Config{Allowed: []string{"[::1]:8000"}}, []string{"[::1]:8000"}, `"[::1]:8000"`},
		{"non-ASCII", hosts.Config{Allowed: []string{"bücher.example"}}, []string{"bücher.example"}, `"bücher.example"`},
		{"all bad entries named", hosts.Config{Allowed: []string{"ok.example", "a:1", "b.", ".ok.example"}}, []string{"a:1", "b."}, `"a:1", "b."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := hosts.New(tt.cfg)
			if v != nil || !errors.Is(err, hosts.ErrConfig) || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "hosts: ") {
				t.Fatalf("New = %v, %v; want an ErrConfig naming %s", v, err, tt.want)
			}
			var ee *hosts.EntryError
			if errors.As(err, &ee) != (tt.entries != nil) || tt.entries != nil && strings.Join(ee.Entries, "|") != strings.Join(tt.entries, "|") {
				t.Errorf("entries = %v, want %v", ee, tt.entries)
			}
			if verr := tt.cfg.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate = %v", verr)
			}
		})
	}
}

func TestDevelopment(t *testing.T) {
	dev, err := hosts.New(hosts.Config{Development: true})
	if err != nil {
		t.Fatal(err)
	}
	listed, err := hosts.New(hosts.Config{Development: true, Allowed: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		v    *hosts.Validator
		host string
		ok   bool
	}{
		{dev, "localhost", true}, {dev, "localhost:8000", true}, {dev, "app.localhost", true},
		{dev, "127.0.0.1:8000", true}, {dev, "[::1]:8000", true},
		{dev, "example.com", false}, {dev, "localhost.evil.example", false}, {dev, "127.0.0.2", false},
		// As in Django, a non-empty list is used alone.
		{listed, "example.com", true}, {listed, "localhost", false}, {listed, "127.0.0.1", false},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = tt.host
		if err := tt.v.Check(r); (err == nil) != tt.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tt.host, err, tt.ok)
		}
	}
}

func TestHandlerRefusal(t *testing.T) {
	var buf bytes.Buffer
	v, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := v.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	long := "evil\n" + strings.Repeat("x", 1000)
	r := httptest.NewRequest(http.MethodPost, "/a%0Ab?token=secret", nil)
	r.Host = long
	r.RemoteAddr = "198.51.100.9:1234"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if called {
		t.Fatal("next was called")
	}
	if w.Code != http.StatusBadRequest || strings.TrimSpace(w.Body.String()) != http.StatusText(http.StatusBadRequest) {
		t.Fatalf("response %d %q", w.Code, w.Body.String())
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("logged %d lines, want one event: %s", len(lines), buf.String())
	}
	var ev map[string]any
	if err := json.Unmarshal(lines[0], &ev); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"event": "disallowed_host", "reason": "invalid_host", "client_ip": "198.51.100.9",
		"method": "POST", "path": "/a%0Ab", "level": "INFO"} {
		if ev[k] != want {
			t.Errorf("event[%s] = %v, want %q", k, ev[k], want)
		}
	}
	host, _ := ev["host"].(string)
	if !strings.HasPrefix(host, `"evil\nxxx`) || len(host) > 300 || strings.ContainsAny(host, "\n") {
		t.Errorf("host logged as %q: want quoted and truncated", host)
	}
	if strings.Contains(buf.String(), "secret") {
		t.Error("the query string was logged")
	}
}

func TestHostAccessor(t *testing.T) {
	v, err := hosts.New(hosts.Config{Allowed: []string{".example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Host = "WWW.Example.com.:8080"
	if h, ok := hosts.Host(r); ok || h != "" {
		t.Fatalf("Host without the handler = %q, %v", h, ok)
	}
	// Facts without validation are not enough either.
	r2, _ := reqstate.Ensure(r)
	if _, ok := hosts.Host(r2); ok {
		t.Fatal("Host is ok on unvalidated facts")
	}
	var got string
	var ok bool
	v.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got, ok = hosts.Host(r) })).ServeHTTP(httptest.NewRecorder(), r)
	if !ok || got != "WWW.Example.com.:8080" {
		t.Errorf("Host = %q, %v; want the raw value unchanged", got, ok)
	}
	if _, ok := hosts.Host(r); ok {
		t.Error("the original request was marked validated")
	}
}

func TestAbsoluteURL(t *testing.T) {
	v, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target, location, want string
	}{
		{"/a/b?x=1", "/c", "http://example.com/c"},
		{"/a/b?x=1", "c", "http://example.com/a/c"},
		{"/a/b/", "c", "http://example.com/a/b/c"},
		{"/a/b", "../c", "http://example.com/c"},
		{"/a/b", "../../../c", "http://example.com/c"},
		{"/a/b", ".", "http://example.com/a/"},
		{"/a/b", "..", "http://example.com/"},
		{"/a/b", "?q=1", "http://example.com/a/b?q=1"},
		{"/a/b", "#frag", "http://example.com/a/b#frag"},
		{"/a/b?x=1", "", "http://example.com/a/b"},
		{"/a/b", "/x/./y/../z", "http://example.com/x/z"},
		{"/a/b", "///x", "http://example.com/x"},
		{"/a/b", "/caf\u00e9 x", "http://example.com/caf%C3%A9%20x"},
		{"/a/b", "/%41", "http://example.com/%41"},
		{"/a/b", "https://other.example/p?q", "https://other.example/p?q"},
		{"/a/b", "mailto:a@b.example", "mailto:a@b.example"},
		// Not an open-redirect guard: Django returns scheme-relative and
		// absolute locations unchanged.
		{"/a/b", "//evil.example/x", "http://evil.example/x"},
		{"/a/b", "\t//evil.example/", "http://evil.example/"},
		// Backslashes are not slashes here; they are escaped.
		{"/a/b", "/\\evil.example", "http://example.com/%5Cevil.example"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		r.Host = "example.com"
		var got string
		var gerr error
		v.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got, gerr = hosts.AbsoluteURL(r, tt.location)
		})).ServeHTTP(httptest.NewRecorder(), r)
		if gerr != nil || got != tt.want {
			t.Errorf("AbsoluteURL(%s, %q) = %q, %v; want %q", tt.target, tt.location, got, gerr, tt.want)
		}
	}

	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	if _, err := hosts.AbsoluteURL(r, "/x"); !errors.Is(err, hosts.ErrHostNotValidated) {
		t.Errorf("AbsoluteURL without validation: %v", err)
	}
	if _, err := hosts.RequestURL(r); !errors.Is(err, hosts.ErrHostNotValidated) {
		t.Errorf("RequestURL without validation: %v", err)
	}
	if got, err := hosts.AbsoluteURL(r, "https://x.example/"); err != nil || got != "https://x.example/" {
		t.Errorf("absolute location without validation = %q, %v", got, err)
	}
	if _, err := hosts.AbsoluteURL(r, "http://[::1/x"); !errors.Is(err, hosts.ErrInvalidURL) {
		t.Errorf("invalid IPv6 location: %v", err)
	}
}

func TestRequestURL(t *testing.T) {
	v, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ target, want string }{
		{"/", "http://example.com/"},
		{"/a/b?x=1&y=%20", "http://example.com/a/b?x=1&y=%20"},
		{"//evil.example/x", "http://example.com//evil.example/x"},
		{"/caf%C3%A9/%3F?q=%C3%A9", "http://example.com/caf%C3%A9/%3F?q=%C3%A9"},
		// Dot segments, as Django 3.2 resolves them (checked against
		// build_absolute_uri): inner "/./" and "/../" resolved, a
		// trailing "/." or "/.." kept, the query untouched.
		{"/a/../b", "http://example.com/b"},
		{"/a/./b", "http://example.com/a/b"},
		{"/a/..", "http://example.com/a/.."},
		{"/a/b/../../../c", "http://example.com/c"},
		{"/a/./", "http://example.com/a/"},
		{"/./", "http://example.com/"},
		{"/a/../b?x=1&y=/../", "http://example.com/b?x=1&y=/../"},
		{"/caf%C3%A9/../x", "http://example.com/x"},
		{"//a/../b", "http://example.com//b"},
	} {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		r.Host = "example.com"
		var got string
		var gerr error
		v.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got, gerr = hosts.RequestURL(r)
		})).ServeHTTP(httptest.NewRecorder(), r)
		if gerr != nil || got != tt.want {
			t.Errorf("RequestURL(%s) = %q, %v; want %q", tt.target, got, gerr, tt.want)
		}
	}
}
