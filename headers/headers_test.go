package headers_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/headers"
)

var nop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// serve runs one GET through New(cfg).Handler(app) and returns the
// response headers.
func serve(t *testing.T, cfg headers.Config, preset http.Header, app http.HandlerFunc) (http.Header, string) {
	t.Helper()
	hs, err := headers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if app == nil {
		app = nop
	}
	rec := httptest.NewRecorder()
	for k, v := range preset {
		rec.Header()[k] = v
	}
	hs.Handler(app).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec.Result().Header, rec.Body.String()
}

// want is a table transcribed from the specifications (Fetch, HTML,
// Referrer Policy, CSP3), not from this package's constants.
func TestHeaders(t *testing.T) {
	tests := []struct {
		name   string
		cfg    headers.Config
		preset http.Header
		app    http.HandlerFunc
		want   map[string]string // "" = absent
	}{
		{"defaults", headers.Config{}, nil, nil, map[string]string{
			"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
			"Cross-Origin-Opener-Policy": "same-origin", "X-Frame-Options": "DENY",
			"Content-Security-Policy": "", "Content-Security-Policy-Report-Only": "",
			"Permissions-Policy": "", "Cross-Origin-Resource-Policy": "", "X-XSS-Protection": "",
			"Referer-Policy": "", "Strict-Transport-Security": "",
		}},
		{"referrer string list", headers.Config{ReferrerPolicy: []string{"strict-origin, origin"}}, nil, nil,
			map[string]string{"Referrer-Policy": "strict-origin,origin"}},
		{"referrer list", headers.Config{ReferrerPolicy: []string{"no-referrer", "strict-origin-when-cross-origin"}}, nil, nil,
			map[string]string{"Referrer-Policy": "no-referrer,strict-origin-when-cross-origin"}},
		{"coop", headers.Config{CrossOriginOpenerPolicy: "same-origin-allow-popups"}, nil, nil,
			map[string]string{"Cross-Origin-Opener-Policy": "same-origin-allow-popups"}},
		{"frame sameorigin any case", headers.Config{FrameOptions: "sameorigin"}, nil, nil,
			map[string]string{"X-Frame-Options": "SAMEORIGIN"}},
		{"all omitted", headers.Config{InsecureAllowSniffing: true, InsecureOmitReferrerPolicy: true,
			InsecureOmitCrossOriginOpenerPolicy: true, InsecureAllowFraming: true}, nil, nil,
			map[string]string{"X-Content-Type-Options": "", "Referrer-Policy": "", "Cross-Origin-Opener-Policy": "", "X-Frame-Options": ""}},
		{"permissions and corp", headers.Config{PermissionsPolicy: `camera=(), geolocation=(self "https://maps.example"), fullscreen=*`,
			CrossOriginResourcePolicy: "same-site"}, nil, nil,
			map[string]string{"Permissions-Policy": `camera=(), geolocation=(self "https://maps.example"), fullscreen=*`, "Cross-Origin-Resource-Policy": "same-site"}},
		{"csp static", headers.Config{CSP: headers.Policy{{Name: "default-src", Values: []string{"'self'"}}, {Name: "upgrade-insecure-requests"}}}, nil, nil,
			map[string]string{"Content-Security-Policy": "default-src 'self'; upgrade-insecure-requests"}},
		{"csp report-only", headers.Config{CSPReportOnly: headers.Policy{{Name: "default-src", Values: []string{"'none'"}}, {Name: "report-uri", Values: []string{"/csp-report/"}}}}, nil, nil,
			map[string]string{"Content-Security-Policy-Report-Only": "default-src 'none'; report-uri /csp-report/", "Content-Security-Policy": ""}},
		{"nonce unread is dropped", headers.Config{CSP: headers.Policy{{Name: "script-src", Values: []string{"'self'", headers.NonceSentinel}}, {Name: "style-src", Values: []string{headers.NonceSentinel}}}}, nil, nil,
			map[string]string{"Content-Security-Policy": "script-src 'self'"}},
		{"outer header kept", headers.Config{}, http.Header{"X-Frame-Options": {"SAMEORIGIN"}, "X-Content-Type-Options": {"foo"}}, nil,
			map[string]string{"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "foo"}},
		{"handler replaces", headers.Config{}, nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Referrer-Policy", "no-referrer")
		}, map[string]string{"Referrer-Policy": "no-referrer"}},
		{"handler exempts from framing", headers.Config{}, nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Del("X-Frame-Options")
		}, map[string]string{"X-Frame-Options": "", "X-Content-Type-Options": "nosniff"}},
		{"handler Add does not spill into a neighbour", headers.Config{}, nil, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Content-Type-Options", "extra")
		}, map[string]string{"Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff|extra", "Cross-Origin-Opener-Policy": "same-origin"}},
		{"override csp off", headers.Config{CSP: headers.Policy{{Name: "default-src", Values: []string{"'self'"}}}}, nil, func(w http.ResponseWriter, r *http.Request) {
			if err := headers.OverrideCSP(w, nil); err != nil {
				t.Error(err)
			}
		}, map[string]string{"Content-Security-Policy": ""}},
		{"override csp", headers.Config{CSP: headers.Policy{{Name: "default-src", Values: []string{"'self'"}}}}, nil, func(w http.ResponseWriter, r *http.Request) {
			if err := headers.OverrideCSP(w, headers.Policy{{Name: "img-src", Values: []string{"data:"}}}); err != nil {
				t.Error(err)
			}
		}, map[string]string{"Content-Security-Policy": "img-src data:"}},
		{"override refuses an invalid policy", headers.Config{CSP: headers.Policy{{Name: "default-src", Values: []string{"'self'"}}}}, nil, func(w http.ResponseWriter, r *http.Request) {
			if err := headers.OverrideCSP(w, headers.Policy{{Name: "img-src", Values: []string{"self"}}}); err == nil {
				t.Error("invalid override accepted")
			}
		}, map[string]string{"Content-Security-Policy": "default-src 'self'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := serve(t, tt.cfg, tt.preset, tt.app)
			for k, v := range tt.want {
				if got := strings.Join(h.Values(k), "|"); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

var nonceRE = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

func TestNonce(t *testing.T) {
	cfg := headers.Config{
		CSP:           headers.Policy{{Name: "script-src", Values: []string{"'self'", headers.NonceSentinel}}, {Name: "style-src", Values: []string{"'" + headers.NonceSentinel + "'"}}},
		CSPReportOnly: headers.Policy{{Name: "default-src", Values: []string{headers.NonceSentinel}}},
	}
	seen := map[string]bool{}
	for range 20 {
		h, body := serve(t, cfg, nil, func(w http.ResponseWriter, r *http.Request) {
			n := headers.Nonce(r)
			if headers.Nonce(r) != n {
				t.Error("nonce changed within a request")
			}
			io.WriteString(w, n)
		})
		if !nonceRE.MatchString(body) {
			t.Fatalf("nonce %q is not 22 base64url characters", body)
		}
		if seen[body] {
			t.Fatalf("nonce %q repeated across requests", body)
		}
		seen[body] = true
		tok := "'nonce-" + body + "'"
		if got, want := h.Get("Content-Security-Policy"), "script-src 'self' "+tok+"; style-src "+tok; got != want {
			t.Errorf("CSP %q, want %q", got, want)
		}
		if got, want := h.Get("Content-Security-Policy-Report-Only"), "default-src "+tok; got != want {
			t.Errorf("CSP-RO %q, want %q", got, want)
		}
	}
	// The handler replaces the policy: its value wins, nonce or not.
	h, _ := serve(t, cfg, nil, func(w http.ResponseWriter, r *http.Request) {
		headers.Nonce(r)
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.WriteHeader(204)
	})
	if got := h.Get("Content-Security-Policy"); got != "default-src 'none'" {
		t.Errorf("handler's CSP replaced: %q", got)
	}
	// An override may use the nonce too.
	h, body := serve(t, cfg, nil, func(w http.ResponseWriter, r *http.Request) {
		if err := headers.OverrideCSPReportOnly(w, headers.Policy{{Name: "img-src", Values: []string{headers.NonceSentinel, "data:"}}}); err != nil {
			t.Error(err)
		}
		io.WriteString(w, headers.Nonce(r))
	})
	if got, want := h.Get("Content-Security-Policy-Report-Only"), "img-src 'nonce-"+body+"' data:"; got != want {
		t.Errorf("override with nonce: %q, want %q", got, want)
	}
	// Without a nonce policy there is no nonce to hand out.
	_, body = serve(t, headers.Config{}, nil, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, headers.Nonce(r)) })
	if body != "" {
		t.Errorf("Nonce without a nonce policy = %q", body)
	}
}

// TestNonceRealServer checks the nonce over a real server, with a handler
// that never writes (the server writes the header after it returns) and
// one that flushes and uses http.ResponseController.
func TestNonceRealServer(t *testing.T) {
	hs, err := headers.New(headers.Config{CSP: headers.Policy{{Name: "script-src", Values: []string{headers.NonceSentinel}}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) { headers.Nonce(r) })
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		n := headers.Nonce(r)
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Error(err)
		}
		w.(http.Flusher).Flush()
		io.WriteString(w, n)
	})
	mux.HandleFunc("/copy", func(w http.ResponseWriter, r *http.Request) {
		// The nonce is read on another goroutine, and the body goes
		// through io.Copy (the ReaderFrom path).
		var n string
		done := make(chan struct{})
		go func() { n = headers.Nonce(r); close(done) }()
		<-done
		io.Copy(w, strings.NewReader(n))
	})
	srv := httptest.NewUnstartedServer(hs.Handler(mux))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	for _, path := range []string{"/silent", "/flush", "/copy"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Errorf("%s: %s, want HTTP/2", path, resp.Proto)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !regexp.MustCompile(`^script-src 'nonce-[A-Za-z0-9_-]{22}'$`).MatchString(csp) {
			t.Errorf("%s: CSP %q lacks the nonce", path, csp)
		}
		if len(body) > 0 && csp != "script-src 'nonce-"+string(body)+"'" {
			t.Errorf("%s: CSP %q does not carry the body's nonce %q", path, csp, body)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	src := func(name string, v ...string) headers.Config {
		return headers.Config{CSP: headers.Policy{{Name: name, Values: v}}}
	}
	tests := []struct {
		name string
		cfg  headers.Config
		want string
	}{
		{"referrer typo", headers.Config{ReferrerPolicy: []string{"no-referer"}}, `referrer_policy "no-referer"`},
		{"referrer empty item", headers.Config{ReferrerPolicy: []string{"origin,"}}, `referrer_policy ""`},
		{"coop", headers.Config{CrossOriginOpenerPolicy: "same-site"}, `cross_origin_opener_policy "same-site"`},
		{"xfo allow-from", headers.Config{FrameOptions: "ALLOW-FROM https://a.example"}, `frame_options "ALLOW-FROM https://a.example"`},
		{"corp", headers.Config{CrossOriginResourcePolicy: "none"}, `cross_origin_resource_policy "none"`},
		{"permissions syntax", headers.Config{PermissionsPolicy: "camera 'none'"}, `permissions_policy`},
		{"permissions CRLF", headers.Config{PermissionsPolicy: "camera=()\r\nSet-Cookie: a=b"}, `permissions_policy`},
		{"unknown directive", src("script-scr", "'self'"), `unknown directive "script-scr"`},
		{"unquoted self", src("default-src", "self"), `value "self": keyword without quotes`},
		{"unquoted unsafe-inline", src("script-src", "unsafe-inline"), `keyword without quotes`},
		{"unquoted nonce", src("script-src", "nonce-abc"), `keyword without quotes`},
		{"unknown keyword", src("script-src", "'selfie'"), `unknown keyword`},
		{"bad hash", src("script-src", "'sha256-not base64'"), `not allowed`},
		{"header injection", src("default-src", "a.example;script-src"), `not allowed`},
		{"CRLF", src("default-src", "a.example\r\nX: y"), `not allowed`},
		{"comma splits policies", src("default-src", "a.example,b.example"), `not allowed`},
		{"non-ASCII", src("img-src", "exämple.com"), `not allowed`},
		{"inner quote", src("img-src", "a'b"), `quote inside`},
		{"value on bare directive", src("upgrade-insecure-requests", "1"), `takes no value`},
		{"sandbox token", src("sandbox", "allow-everything"), `unknown sandbox token`},
		{"sentinel outside a source list", src("report-uri", headers.NonceSentinel), `source list`},
		{"duplicate", headers.Config{CSP: headers.Policy{{Name: "img-src", Values: []string{"*"}}, {Name: "img-src", Values: []string{"'none'"}}}}, `duplicate directive "img-src"`},
		{"report-only checked too", headers.Config{CSPReportOnly: headers.Policy{{Name: "img-src", Values: []string{"none"}}}}, `csp_report_only: directive "img-src"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := headers.New(tt.cfg)
			if err == nil || !errors.Is(err, headers.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrConfig mentioning %q", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "headers: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	good := headers.Config{CSP: headers.Policy{
		{Name: "default-src", Values: []string{"'self'", "https:", "*.cdn.example:443", "data:"}},
		{Name: "script-src", Values: []string{"'strict-dynamic'", "'sha256-abc+/=='", "'nonce-Zm9v'", headers.NonceSentinel}},
		{Name: "sandbox", Values: []string{"allow-scripts", "allow-forms"}},
		{Name: "trusted-types", Values: []string{"default", "'allow-duplicates'"}},
		{Name: "require-trusted-types-for", Values: []string{"'script'"}},
		{Name: "report-to", Values: []string{"csp-endpoint"}},
		{Name: "block-all-mixed-content"},
	}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

func TestAllocs(t *testing.T) {
	hs, err := headers.New(headers.Config{CSP: headers.Policy{{Name: "default-src", Values: []string{"'self'"}}}, PermissionsPolicy: "camera=()"})
	if err != nil {
		t.Fatal(err)
	}
	h := hs.Handler(nop)
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r) // size the header map once
	got := testing.AllocsPerRun(100, func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	})
	if got > 1 {
		t.Errorf("%v allocs per request, want ≤ 1", got)
	}
}
