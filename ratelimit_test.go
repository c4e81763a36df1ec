package bulwark_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/refusal/refusaltest"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// The rate-limit layer sits after httpsonly (a redirect to HTTPS is not
// counted) and before limits (a client over its rate costs no body
// reading: 429, not 413).
func TestRateLimitPlace(t *testing.T) {
	c := siteConfig()
	c.Limits.MaxBodyBytes = 10
	c.RateLimit = []ratelimit.Rule{{Name: "site", Rate: "2/h", Paths: []string{"/"}}}
	var seen []string
	c.RateLimitObserve = func(rule string, d ratelimit.Decision) { seen = append(seen, rule+"/"+d.String()) }
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	reached := 0
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }))
	do := func(url, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", url, strings.NewReader(body))
		r.RemoteAddr = "192.0.2.1:1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("http://example.com/", ""); w.Code != http.StatusMovedPermanently {
		t.Fatalf("http: %d", w.Code)
	}
	for range 2 {
		if w := do("https://example.com/", ""); w.Code != 200 {
			t.Fatalf("https: %d", w.Code)
		}
	}
	w := do("https://example.com/", strings.Repeat("x", 100))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("third request: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	// Bulwark's refusals carry the security headers too.
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("429 without the security headers")
	}
	if reached != 2 || strings.Join(seen, ",") != "site/allowed,site/allowed,site/limited" {
		t.Fatalf("reached %d, decisions %q", reached, seen)
	}
}

func TestRateLimitSection(t *testing.T) {
	tests := []struct {
		name string
		edit func(*bulwark.Config)
		err  string
	}{
		{"rules", func(c *bulwark.Config) {
			c.RateLimit = []ratelimit.Rule{{Name: "a", Rate: "1/s", Paths: []string{"/"}}}
		}, ""},
		{"invalid rule", func(c *bulwark.Config) {
			c.RateLimit = []ratelimit.Rule{{Name: "a", Rate: "1/week", Paths: []string{"/"}}}
		}, "bulwark: [rate_limit] rule 0 (\"a\"): rate = \"1/week\": the period is s, m or h"},
		{"store without rules", func(c *bulwark.Config) { c.RateLimitStore = ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}) },
			"bulwark: [rate_limit] a store or observer given but no rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := siteConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
		})
	}
}

func TestRateLimitTOML(t *testing.T) {
	c, err := bulwark.ParseConfig([]byte(`
[hosts]
allowed = ["example.com"]

[[rate_limit]]
name = "site"
paths = ["/"]
rate = "100/m"

[[rate_limit]]
name = "login"
paths = ["/accounts/login/", "/admin/login/"]
methods = ["POST"]
rate = "5/h"
burst = 3
key = "ip"
ipv6_prefix = 56
count_statuses = [200]
timeout = "100ms"
fail_closed = true
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.RateLimit) != 2 || c.RateLimit[1].Burst != 3 || c.RateLimit[1].IPv6Prefix != 56 || !c.RateLimit[1].FailClosed ||
		c.RateLimit[1].CountStatuses[0] != 200 || c.RateLimit[1].Timeout.Milliseconds() != 100 {
		t.Fatalf("parsed %+v", c.RateLimit)
	}
	c.Logger = quiet
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Strict: a typo is an error naming the key and its line.
	_, err = bulwark.ParseConfig([]byte("[[rate_limit]]\nname = \"a\"\nrat = \"1/s\"\n"))
	var ce *bulwark.ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, bulwark.ErrUnknownKey) || ce.Line != 3 || ce.Key != "rate_limit.rat" {
		t.Fatalf("typo: %v", err)
	}
	// A duration written as a number is refused.
	if _, err := bulwark.ParseConfig([]byte("[[rate_limit]]\ntimeout = 250\n")); err == nil || !strings.Contains(err.Error(), "duration") {
		t.Fatalf("numeric timeout: %v", err)
	}
}

// The layer's refusal event goes to Config.Logger like every other, in
// the one refusal shape, naming the client behind the proxy.
func TestRateLimitLogger(t *testing.T) {
	var logs bytes.Buffer
	c := siteConfig()
	c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	c.Proxy = trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}}
	c.RateLimit = []ratelimit.Rule{{Name: "site", Rate: "1/h", Paths: []string{"/"}}}
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handler(http.NotFoundHandler())
	for range 2 {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.RemoteAddr = "10.1.2.3:4000"
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	evs := refusaltest.Events(t, logs.String(), "rate_limit")
	if len(evs) != 1 || evs[0]["reason"] != "rate_limited" || evs[0]["rule"] != "site" {
		t.Fatalf("events: %s", logs.String())
	}
	if err := refusaltest.Check(evs[0], "203.0.113.7", "example.com"); err != nil {
		t.Fatalf("%v: %v", err, evs[0])
	}
}
