package bench

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/session"
	bwmem "github.com/bulwarkdev/bulwark/session/memstore"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/unrolled/secure"
)

// The same deployment for both: site example.com behind a TLS-terminating
// proxy at 10.0.0.1 that sends X-Forwarded-Proto; redirect plain HTTP;
// HSTS one year with subdomains; nosniff; X-Frame-Options DENY;
// Referrer-Policy and COOP same-origin.

// foundationBulwark composes exactly the layers unrolled/secure covers, in
// the order bulwark.New composes them: headers, trustedproxy, hosts,
// httpsonly. (bulwark.New also turns on limits and CSRF by default; the
// whole chain is measured by BenchmarkFullChain.)
func foundationBulwark(b *testing.B) http.Handler {
	tp, err := trustedproxy.New(trustedproxy.Config{Logger: quietLog, Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"})
	if err != nil {
		b.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Logger: quietLog, Allowed: []string{"example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	hs, err := httpsonly.New(httpsonly.Config{Logger: quietLog, HSTSIncludeSubdomains: true})
	if err != nil {
		b.Fatal(err)
	}
	// The zero value is nosniff, DENY, same-origin, same-origin.
	hd, err := headers.New(headers.Config{})
	if err != nil {
		b.Fatal(err)
	}
	return hd.Handler(tp.Handler(hv.Handler(hs.Handler(okHandler))))
}

var quietLog = slog.New(slog.DiscardHandler)

func foundationSecure() http.Handler {
	s := secure.New(secure.Options{
		AllowedHosts:            []string{"example.com"},
		SSLRedirect:             true,
		SSLProxyHeaders:         map[string]string{"X-Forwarded-Proto": "https"},
		STSSeconds:              31536000,
		STSIncludeSubdomains:    true,
		ContentTypeNosniff:      true,
		FrameDeny:               true,
		ReferrerPolicy:          "same-origin",
		CrossOriginOpenerPolicy: "same-origin",
	})
	return s.Handler(okHandler)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

// sink is a ResponseWriter that keeps only the header and status, reused
// across iterations so both middlewares are measured, not the recorder.
type sink struct {
	h    http.Header
	code int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(b []byte) (int, error) { return len(b), nil }
func (s *sink) WriteHeader(code int)        { s.code = code }

func proxiedGET() *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/account/settings?tab=security", nil)
	r.RemoteAddr = "10.0.0.1:54321"
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	return r
}

func plainGET() *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/account/settings?tab=security", nil)
	r.RemoteAddr = "203.0.113.7:54321"
	return r
}

func runFoundation(b *testing.B, h http.Handler, r *http.Request, want int, wantHeader string) {
	w := &sink{h: make(http.Header, 8)}
	h.ServeHTTP(w, r)
	if w.code != want || wantHeader != "" && w.h.Get(wantHeader) == "" {
		b.Fatalf("status %d, header %s=%q, want %d", w.code, wantHeader, w.h.Get(wantHeader), want)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// BenchmarkFoundation measures (a) an HTTPS GET forwarded by the trusted
// proxy through the four layers, and (b) the plain-HTTP redirect.
func BenchmarkFoundation(b *testing.B) {
	b.Run("GET/bulwark", func(b *testing.B) {
		runFoundation(b, foundationBulwark(b), proxiedGET(), 200, "Strict-Transport-Security")
	})
	b.Run("GET/unrolled-secure", func(b *testing.B) {
		runFoundation(b, foundationSecure(), proxiedGET(), 200, "Strict-Transport-Security")
	})
	b.Run("redirect/bulwark", func(b *testing.B) {
		runFoundation(b, foundationBulwark(b), plainGET(), 301, "Location")
	})
	b.Run("redirect/unrolled-secure", func(b *testing.B) {
		runFoundation(b, foundationSecure(), plainGET(), 301, "Location")
	})
}

// BenchmarkFoundationLayers measures Bulwark's layers one at a time on the
// same forwarded HTTPS GET, to show where the composed chain's time goes.
func BenchmarkFoundationLayers(b *testing.B) {
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"})
	if err != nil {
		b.Fatal(err)
	}
	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	hs, err := httpsonly.New(httpsonly.Config{HSTSIncludeSubdomains: true})
	if err != nil {
		b.Fatal(err)
	}
	hd, err := headers.New(headers.Config{})
	if err != nil {
		b.Fatal(err)
	}
	// Facts as the first two layers leave them, for the later layers.
	var withFacts *http.Request
	tp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { withFacts = r })).ServeHTTP(&sink{h: http.Header{}}, proxiedGET())
	hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(&sink{h: http.Header{}}, withFacts)
	b.Run("trustedproxy", func(b *testing.B) { runFoundation(b, tp.Handler(okHandler), proxiedGET(), 200, "") })
	b.Run("hosts", func(b *testing.B) { runFoundation(b, hv.Handler(okHandler), withFacts, 200, "") })
	b.Run("httpsonly", func(b *testing.B) {
		runFoundation(b, hs.Handler(okHandler), withFacts, 200, "Strict-Transport-Security")
	})
	b.Run("headers", func(b *testing.B) { runFoundation(b, hd.Handler(okHandler), withFacts, 200, "X-Frame-Options") })
}

// BenchmarkFullChain measures bulwark.New with every request-path section
// on (headers, trustedproxy, hosts, httpsonly, limits, session on
// memstore, CSRF with tokens) on the same forwarded HTTPS GET: one that
// does not touch its session, and one that reads a value from an
// existing session.
func BenchmarkFullChain(b *testing.B) {
	store, err := bwmem.New(bwmem.Config{})
	if err != nil {
		b.Fatal(err)
	}
	bw, err := bulwark.New(bulwark.Config{
		Logger:  quietLog,
		Proxy:   trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"},
		Hosts:   hosts.Config{Allowed: []string{"example.com"}},
		HTTPS:   httpsonly.Config{HSTSIncludeSubdomains: true},
		Session: session.Config{Store: store},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer bw.Close()
	app := bw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			session.Put(r, "user", "ada")
		case "/me":
			if _, ok := session.Get[string](r, "user"); !ok {
				http.Error(w, "no session", http.StatusInternalServerError)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	login := proxiedGET()
	login.URL.Path = "/login"
	lw := httptest.NewRecorder()
	app.ServeHTTP(lw, login)
	var cookie string
	for _, c := range lw.Result().Cookies() {
		if c.Name == bw.Session().CookieName() {
			cookie = c.Name + "=" + c.Value
		}
	}
	if cookie == "" {
		b.Fatalf("no session cookie after login: %q", lw.Header()["Set-Cookie"])
	}
	b.Run("GET", func(b *testing.B) {
		runFoundation(b, app, proxiedGET(), 200, "Strict-Transport-Security")
	})
	b.Run("GET-session-read", func(b *testing.B) {
		r := proxiedGET()
		r.URL.Path = "/me"
		r.Header.Set("Cookie", cookie)
		runFoundation(b, app, r, 200, "Strict-Transport-Security")
	})
}
