package httpsonly_test

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// request builds a request as the chain in front would leave it: facts
// with the scheme and, when validated is set, the host package's verdict.
func request(method, scheme, host, path, query string, validated bool) *http.Request {
	r := httptest.NewRequest(method, "/", nil)
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = path, "", query
	r.Host = host
	if scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	return reqstatetest.With(r, reqstate.Conn{Scheme: scheme, Host: host}, host, validated)
}

var ok200 = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") })

func TestHandler(t *testing.T) {
	long := "/" + strings.Repeat("a", 16384)
	tests := []struct {
		name      string
		cfg       httpsonly.Config
		req       *http.Request
		preset    http.Header // on the ResponseWriter before the chain
		status    int
		location  string
		hsts      string // "" = absent
		handlerOK bool   // the app ran
	}{
		{"redirect GET", httpsonly.Config{}, request("GET", "http", "example.com", "/some/url", "query=string", true),
			nil, 301, "https://example.com/some/url?query=string", "", false},
		{"redirect POST 301 by default", httpsonly.Config{}, request("POST", "http", "example.com", "/submit/", "", true),
			nil, 301, "https://example.com/submit/", "", false},
		{"redirect 308 option", httpsonly.Config{RedirectStatus: 308}, request("POST", "http", "example.com", "/submit/", "", true),
			nil, 308, "https://example.com/submit/", "", false},
		{"port kept like Django", httpsonly.Config{}, request("GET", "http", "example.com:8080", "/", "", true),
			nil, 301, "https://example.com:8080/", "", false},
		{"port dropped with 443", httpsonly.Config{RedirectPort: 443}, request("GET", "http", "example.com:8080", "/", "", true),
			nil, 301, "https://example.com/", "", false},
		{"port replaced", httpsonly.Config{RedirectPort: 8443}, request("GET", "http", "example.com:8080", "/x", "", true),
			nil, 301, "https://example.com:8443/x", "", false},
		{"port added to bare host", httpsonly.Config{RedirectPort: 8443}, request("GET", "http", "example.com", "/x", "", true),
			nil, 301, "https://example.com:8443/x", "", false},
		{"ipv6 port replaced", httpsonly.Config{RedirectPort: 443}, request("GET", "http", "[::1]:8080", "/", "", true),
			nil, 301, "https://[::1]/", "", false},
		{"ssl host verbatim", httpsonly.Config{SSLHost: "secure.example.com:8443", RedirectPort: 443}, request("GET", "http", "example.com", "/a", "", true),
			nil, 301, "https://secure.example.com:8443/a", "", false},
		{"escaped path and query", httpsonly.Config{}, request("GET", "http", "example.com", "/café/a b", "q=a b&r=%2F", true),
			nil, 301, "https://example.com/caf%C3%A9/a%20b?q=a%20b&r=%2F", "", false},
		{"exempt", httpsonly.Config{Exempt: []string{"^insecure/"}}, request("GET", "http", "example.com", "/insecure/page", "", true),
			nil, 200, "", "", true},
		{"exempt searched unanchored", httpsonly.Config{Exempt: []string{"page$"}}, request("GET", "http", "example.com", "///insecure/page", "", true),
			nil, 200, "", "", true},
		{"exempt with ^/ never matches", httpsonly.Config{Exempt: []string{"^/insecure/"}}, request("GET", "http", "example.com", "/insecure/page", "", true),
			nil, 301, "https://example.com/insecure/page", "", false},
		{"redirect off", httpsonly.Config{AllowInsecureHTTP: true}, request("GET", "http", "example.com", "/", "", true),
			nil, 200, "", "", true},
		{"secure gets HSTS", httpsonly.Config{}, request("GET", "https", "example.com", "/", "", true),
			nil, 200, "", "max-age=31536000", true},
		{"HSTS all options", httpsonly.Config{HSTSMaxAge: 2 * 365 * 24 * time.Hour, HSTSIncludeSubdomains: true, HSTSPreload: true},
			request("GET", "https", "example.com", "/", "", true), nil, 200, "", "max-age=63072000; includeSubDomains; preload", true},
		{"HSTS off", httpsonly.Config{InsecureDisableHSTS: true}, request("GET", "https", "example.com", "/", "", true),
			nil, 200, "", "", true},
		{"HSTS set upstream kept", httpsonly.Config{}, request("GET", "https", "example.com", "/", "", true),
			http.Header{"Strict-Transport-Security": {"max-age=7200"}}, 200, "", "max-age=7200", true},
		{"HSTS not on exempt http", httpsonly.Config{Exempt: []string{"."}}, request("GET", "http", "example.com", "/x", "", true),
			nil, 200, "", "", true},

		{"unsafe method refused when asked", httpsonly.Config{RefuseUnsafeMethods: true}, request("POST", "http", "example.com", "/submit/", "", true),
			nil, 400, "", "", false},
		{"safe method still redirected", httpsonly.Config{RefuseUnsafeMethods: true}, request("HEAD", "http", "example.com", "/", "", true),
			nil, 301, "https://example.com/", "", false},
		{"unsafe method over https served", httpsonly.Config{RefuseUnsafeMethods: true}, request("DELETE", "https", "example.com", "/x", "", true),
			nil, 200, "", "max-age=31536000", true},

		// Attacks.
		{"attack: unvalidated host refused", httpsonly.Config{}, request("GET", "http", "evil.com", "/", "", false),
			nil, 400, "", "", false},
		{"attack: unvalidated host with SSLHost goes to SSLHost", httpsonly.Config{SSLHost: "example.com"}, request("GET", "http", "evil.com", "/", "", false),
			nil, 301, "https://example.com/", "", false},
		{"attack: //evil.com path stays on host", httpsonly.Config{}, request("GET", "http", "example.com", "//evil.com", "", true),
			nil, 301, "https://example.com//evil.com", "", false},
		{"attack: backslash path escaped", httpsonly.Config{}, request("GET", "http", "example.com", "/\\evil.com", "", true),
			nil, 301, "https://example.com/%5Cevil.com", "", false},
		{"attack: CR LF in path escaped", httpsonly.Config{}, request("GET", "http", "example.com", "/a\r\nSet-Cookie: x=1", "", true),
			nil, 301, "https://example.com/a%0D%0ASet-Cookie:%20x%3D1", "", false},
		{"attack: CR LF in query escaped", httpsonly.Config{}, request("GET", "http", "example.com", "/", "a=\r\nX: y", true),
			nil, 301, "https://example.com/?a=%0D%0AX:%20y", "", false},
		{"attack: @ in path is not userinfo", httpsonly.Config{}, request("GET", "http", "example.com", "@evil.com", "", true),
			nil, 301, "https://example.com/@evil.com", "", false},
		{"attack: oversized location", httpsonly.Config{}, request("GET", "http", "example.com", long, "", true),
			nil, 400, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Logger = quiet
			p, err := httpsonly.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			for k, v := range tt.preset {
				rec.Header()[k] = v
			}
			p.Handler(ok200).ServeHTTP(rec, tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if got := rec.Header().Get("Strict-Transport-Security"); got != tt.hsts {
				t.Errorf("HSTS %q, want %q", got, tt.hsts)
			}
			if ran := rec.Body.String() == "app"; ran != tt.handlerOK {
				t.Errorf("handler ran = %v, want %v", ran, tt.handlerOK)
			}
			if tt.status == 400 && rec.Body.String() != "Bad Request\n" {
				t.Errorf("400 body %q, want the status text", rec.Body.String())
			}
		})
	}
}

func TestHandlerOverridesHSTS(t *testing.T) {
	p, err := httpsonly.New(httpsonly.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		app  func(h http.Header)
		want []string
	}{
		{"set", func(h http.Header) { h.Set("Strict-Transport-Security", "max-age=0") }, []string{"max-age=0"}},
		{"del", func(h http.Header) { h.Del("Strict-Transport-Security") }, nil},
		{"untouched", func(h http.Header) {}, []string{"max-age=31536000"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tt.app(w.Header()) })).
				ServeHTTP(rec, request("GET", "https", "example.com", "/", "", true))
			if got := rec.Header().Values("Strict-Transport-Security"); strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  httpsonly.Config
		want string
	}{
		{"status", httpsonly.Config{RedirectStatus: 302}, "redirect_status 302"},
		{"port", httpsonly.Config{RedirectPort: 70000}, "redirect_port 70000"},
		{"pattern", httpsonly.Config{Exempt: []string{"ok", "(unclosed"}}, `exempt pattern "(unclosed"`},
		{"preload without subdomains", httpsonly.Config{HSTSPreload: true}, "hsts_preload requires hsts_include_subdomains"},
		{"fractional max-age", httpsonly.Config{HSTSMaxAge: 1500 * time.Millisecond}, "hsts_max_age 1.5s"},
		{"negative max-age", httpsonly.Config{HSTSMaxAge: -time.Second}, "hsts_max_age -1s"},
		{"ssl host with userinfo", httpsonly.Config{SSLHost: "example.com@evil.com"}, `ssl_host "example.com@evil.com"`},
		{"ssl host with scheme", httpsonly.Config{SSLHost: "https://example.com"}, `ssl_host "https://example.com"`},
		{"ssl host with path", httpsonly.Config{SSLHost: "example.com/x"}, `ssl_host "example.com/x"`},
		{"ssl host with bad port", httpsonly.Config{SSLHost: "example.com:0"}, `ssl_host "example.com:0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := httpsonly.New(tt.cfg)
			if err == nil || !errors.Is(err, httpsonly.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrConfig mentioning %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "httpsonly: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	for _, ok := range []httpsonly.Config{{}, {SSLHost: "[2001:db8::1]:8443"}, {HSTSPreload: true, HSTSIncludeSubdomains: true}, {Exempt: []string{`^health$`}}} {
		if err := ok.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", ok, err)
		}
	}
}

func TestCheck(t *testing.T) {
	p, err := httpsonly.New(httpsonly.Config{Exempt: []string{"^health$"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Check(request("GET", "http", "example.com", "/", "", true)); !errors.Is(err, httpsonly.ErrNotSecure) {
		t.Errorf("http: %v, want ErrNotSecure", err)
	}
	if err := p.Check(request("GET", "https", "example.com", "/", "", true)); err != nil {
		t.Errorf("https: %v", err)
	}
	if err := p.Check(request("GET", "http", "example.com", "/health", "", true)); err != nil {
		t.Errorf("exempt: %v", err)
	}
	if _, err := p.Location(request("GET", "http", "evil.com", "/", "", false)); !errors.Is(err, httpsonly.ErrHostNotValidated) {
		t.Errorf("unvalidated: %v", err)
	}
}

func TestPreloadEligible(t *testing.T) {
	for _, tt := range []struct {
		cfg  httpsonly.Config
		want bool
	}{
		{httpsonly.Config{HSTSPreload: true, HSTSIncludeSubdomains: true}, true},
		{httpsonly.Config{HSTSPreload: true, HSTSIncludeSubdomains: true, HSTSMaxAge: 10886400 * time.Second}, false},
		{httpsonly.Config{HSTSIncludeSubdomains: true}, false},
		{httpsonly.Config{HSTSPreload: true, HSTSIncludeSubdomains: true, InsecureDisableHSTS: true}, false},
	} {
		if got := tt.cfg.PreloadEligible(); got != tt.want {
			t.Errorf("%+v: %v, want %v", tt.cfg, got, tt.want)
		}
	}
}

func TestAllocs(t *testing.T) {
	p, err := httpsonly.New(httpsonly.Config{HSTSIncludeSubdomains: true})
	if err != nil {
		t.Fatal(err)
	}
	h := p.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := request("GET", "https", "example.com", "/", "", true)
	w := httptest.NewRecorder()
	got := testing.AllocsPerRun(100, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	})
	if got > 0 { // the HSTS value is backed by the request's Facts
		t.Errorf("secure GET: %v allocs, want 0", got)
	}
	// Without Facts (TLS straight to the handler) the value gets a slice
	// of its own.
	bare := httptest.NewRequest("GET", "https://example.com/", nil)
	got = testing.AllocsPerRun(100, func() {
		clear(w.Header())
		h.ServeHTTP(w, bare)
	})
	if got > 1 {
		t.Errorf("secure GET without facts: %v allocs, want ≤ 1", got)
	}
	r = request("GET", "http", "example.com", "/some/path", "a=b", true)
	got = testing.AllocsPerRun(100, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	})
	if got > 2 { // the Location string and its slice
		t.Errorf("redirect: %v allocs, want ≤ 2", got)
	}
}

// fuzzSeeds are paths and queries from Django's vectors and from known
// open-redirect payloads.
var fuzzSeeds = []struct{ host, path, query string }{
	{"testserver", "/some/url", "query=string"},
	{"testserver", "/café/a b", ""},
	{"example.com:8080", "//evil.com", ""},
	{"example.com", "/\\evil.com", "next=//evil.com"},
	{"[::1]:8443", "/a\r\nLocation: https://evil.com", "x=\r\n"},
	{"example.com", "@evil.com", ""},
	{"example.com", "", "?#@"},
	{"example.com", "/%2F%2Fevil.com", "%0d%0a"},
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if len(fuzzSeeds) == 0 {
		t.Fatal("no fuzz seeds")
	}
}

// FuzzLocation checks the redirect target built from attacker-controlled
// path and query: it always starts with "https://" + the configured SSLHost
// or the validated host + "/", never contains CR, LF, a backslash or a space, and parses back to
// the same host (never pointing elsewhere).
func FuzzLocation(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s.host, s.path, s.query)
	}
	f.Fuzz(func(t *testing.T, host, path, query string) {
		// The host comes from package hosts; model only what it can
		// validate.
		if d, _ := hosts.SplitDomainPort(host); d == "" {
			t.Skip()
		}
		for _, tc := range []struct {
			cfg    httpsonly.Config
			prefix string
		}{
			{httpsonly.Config{Logger: quiet}, "https://" + host + "/"},
			{httpsonly.Config{Logger: quiet, SSLHost: "secure.example.com:8443"}, "https://secure.example.com:8443/"},
		} {
			checkLocation(t, tc.cfg, tc.prefix, host, path, query)
		}
	})
}

func checkLocation(t *testing.T, cfg httpsonly.Config, prefix, host, path, query string) {
	p, err := httpsonly.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := p.Location(request("GET", "http", host, path, query, true))
	if err != nil {
		if errors.Is(err, httpsonly.ErrLocationTooLong) {
			return
		}
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, prefix) {
		t.Fatalf("Location %q does not start with %q", loc, prefix)
	}
	if strings.ContainsAny(loc, "\r\n\\ \x00") {
		t.Fatalf("Location %q holds a forbidden character", loc)
	}
	// The query keeps '%' as iri_to_uri does, so only the path is
	// parsed; what follows '?' cannot change the authority.
	rest, _, _ := strings.Cut(loc[len(prefix)-1:], "?")
	u, err := url.Parse("https://example.invalid" + rest)
	if err != nil {
		t.Fatalf("path part %q does not parse: %v", rest, err)
	}
	if u.Host != "example.invalid" {
		t.Fatalf("path part %q changes the host to %q", rest, u.Host)
	}
}

func TestRefusalEvent(t *testing.T) {
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	p, err := httpsonly.New(httpsonly.Config{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	r := request("GET", "http", "example.com", "/"+strings.Repeat("é", 9000), "token=secret", true)
	r.RemoteAddr = "203.0.113.9:4242"
	p.Handler(ok200).ServeHTTP(httptest.NewRecorder(), r)
	line := buf.String()
	for _, want := range []string{`"event":"disallowed_redirect"`, `"reason":"location_too_long"`, `"host":"example.com"`, `"method":"GET"`} {
		if !strings.Contains(line, want) {
			t.Errorf("event %s lacks %s", line, want)
		}
	}
	if strings.Contains(line, "secret") {
		t.Error("the query string was logged")
	}
	if len(line) > 1024 {
		t.Errorf("event is %d bytes: attacker input not truncated", len(line))
	}
	if strings.Count(line, "\n") != 1 {
		t.Error("not exactly one event line")
	}
}
