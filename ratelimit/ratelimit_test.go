package ratelimit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

type rig struct {
	h       http.Handler
	logs    *bytes.Buffer
	reached []string // "METHOD path from" of each request the app saw
	mu      sync.Mutex
	seen    map[string]int // rule/decision → count
}

// newRig builds a limiter behind a trusted-proxy layer trusting 10.0.0.0/8,
// in front of an app that answers status(r) (200 when nil).
func newRig(t *testing.T, c ratelimit.Config, status func(*http.Request) int) *rig {
	t.Helper()
	rg := &rig{logs: &bytes.Buffer{}, seen: map[string]int{}}
	c.Logger = slog.New(slog.NewJSONHandler(rg.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c.Observe = func(rule string, d ratelimit.Decision) {
		rg.mu.Lock()
		rg.seen[rule+"/"+d.String()]++
		rg.mu.Unlock()
	}
	l, err := ratelimit.New(c)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"10.0.0.0/8"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg.mu.Lock()
		rg.reached = append(rg.reached, r.Method+" "+r.URL.Path+" "+trustedproxy.ClientIP(r).String())
		rg.mu.Unlock()
		st := http.StatusOK
		if status != nil {
			st = status(r)
		}
		w.WriteHeader(st)
	})
	rg.h = tp.Handler(l.Handler(app))
	return rg
}

func (rg *rig) do(method, path, peer string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = peer
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	rg.h.ServeHTTP(w, r)
	return w
}

func rule(name, rate string, paths ...string) ratelimit.Rule {
	return ratelimit.Rule{Name: name, Rate: rate, Paths: paths}
}

func TestLimitThenRefuse(t *testing.T) {
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{rule("api", "3/m", "/api/")}}, nil)
	for i := range 3 {
		if w := rg.do("GET", "/api/x", "192.0.2.1:1"); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	w := rg.do("GET", "/api/x", "192.0.2.1:1")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", w.Code)
	}
	// 3/m: one request every 20 s.
	if ra := w.Header().Get("Retry-After"); ra != "20" {
		t.Fatalf("Retry-After = %q, want 20", ra)
	}
	if body := w.Body.String(); body != "Too Many Requests\n" {
		t.Fatalf("body = %q", body)
	}
	if len(rg.reached) != 3 {
		t.Fatalf("the app saw %d requests, want 3: %q", len(rg.reached), rg.reached)
	}
	// Other paths and other clients are not affected.
	if w := rg.do("GET", "/other", "192.0.2.1:1"); w.Code != 200 {
		t.Fatalf("unlimited path: %d", w.Code)
	}
	if w := rg.do("GET", "/api/x", "192.0.2.2:1"); w.Code != 200 {
		t.Fatalf("another client: %d", w.Code)
	}
	// One refusal event, with the stable keys.
	logs := rg.logs.String()
	if n := strings.Count(logs, `"event":"rate_limit"`); n != 1 {
		t.Fatalf("%d refusal events, want 1:\n%s", n, logs)
	}
	for _, want := range []string{`"reason":"rate_limited"`, `"rule":"api"`, `"client_ip":"192.0.2.1"`,
		`"host":"\"example.com\""`, `"method":"GET"`, `"path":"/api/x"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("event lacks %s:\n%s", want, logs)
		}
	}
	if rg.seen["api/allowed"] != 4 || rg.seen["api/limited"] != 1 {
		t.Fatalf("decisions = %v", rg.seen)
	}
}

func TestMatching(t *testing.T) {
	c := ratelimit.Config{Rules: []ratelimit.Rule{
		{Name: "login", Rate: "1/h", Paths: []string{"/accounts/login/", "/admin/login/"}, Methods: []string{"POST"}},
	}}
	tests := []struct {
		method, path string
		limited      bool
	}{
		{"POST", "/accounts/login/", true},
		{"POST", "/accounts/login", true},      // the prefix without its slash
		{"POST", "/accounts/login/x", true},    // below it
		{"POST", "/accounts//login/", true},    // judged on the canonical path
		{"POST", "/accounts/./login/", true},   // likewise
		{"POST", "/x/../admin/login/", true},   // likewise
		{"GET", "/accounts/login/", false},     // another method
		{"HEAD", "/accounts/login/", false},    //
		{"POST", "/accounts/logins/", false},   // another path
		{"POST", "/ACCOUNTS/login/", false},    // paths are case-sensitive
		{"POST", "/accounts/", false},          // above it
		{"post", "/accounts/login/", false},    // methods are exact
		{"POST", "/admin/login/?next=/", true}, // the query plays no part
		{"POST", "/admin/login/../../x", true}, // as sent, under the rule
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rg := newRig(t, c, nil)
			rg.do(tt.method, tt.path, "192.0.2.1:1")
			w := rg.do(tt.method, tt.path, "192.0.2.1:1")
			if got := w.Code == http.StatusTooManyRequests; got != tt.limited {
				t.Fatalf("second request: %d; limited = %v, want %v", w.Code, got, tt.limited)
			}
		})
	}
}

func TestClientKeys(t *testing.T) {
	tests := []struct {
		name   string
		rule   ratelimit.Rule
		first  []string // peer, then header pairs
		second []string
		shared bool // the second request counts against the first's allowance
	}{
		{"same address", ratelimit.Rule{}, []string{"192.0.2.1:1"}, []string{"192.0.2.1:2"}, true},
		{"other address", ratelimit.Rule{}, []string{"192.0.2.1:1"}, []string{"192.0.2.2:1"}, false},
		{"ipv6 same /64", ratelimit.Rule{}, []string{"[2001:db8:1:2::1]:1"}, []string{"[2001:db8:1:2:ffff::9]:1"}, true},
		{"ipv6 other /64", ratelimit.Rule{}, []string{"[2001:db8:1:2::1]:1"}, []string{"[2001:db8:1:3::1]:1"}, false},
		{"ipv6 /128", ratelimit.Rule{IPv6Prefix: 128}, []string{"[2001:db8::1]:1"}, []string{"[2001:db8::2]:1"}, false},
		{"ipv4 /24", ratelimit.Rule{IPv4Prefix: 24}, []string{"192.0.2.1:1"}, []string{"192.0.2.200:1"}, true},
		{"v4-mapped is v4", ratelimit.Rule{}, []string{"192.0.2.1:1"}, []string{"[::ffff:192.0.2.1]:1"}, true},
		// The client behind a trusted proxy is the forwarded one.
		{"via proxy", ratelimit.Rule{}, []string{"10.0.0.1:1", "X-Forwarded-For", "192.0.2.1"}, []string{"192.0.2.1:9"}, true},
		{"via proxy, other client", ratelimit.Rule{}, []string{"10.0.0.1:1", "X-Forwarded-For", "192.0.2.1"}, []string{"10.0.0.1:1", "X-Forwarded-For", "192.0.2.9"}, false},
		// From anyone else, X-Forwarded-For cannot choose a fresh bucket.
		{"spoofed forwarded-for", ratelimit.Rule{}, []string{"192.0.2.1:1", "X-Forwarded-For", "198.51.100.1"}, []string{"192.0.2.1:1", "X-Forwarded-For", "198.51.100.2"}, true},
		{"header key", ratelimit.Rule{Key: "header:X-Api-Key"}, []string{"192.0.2.1:1", "X-Api-Key", "a"}, []string{"192.0.2.2:1", "X-Api-Key", "a"}, true},
		{"header key, other value", ratelimit.Rule{Key: "header:x-api-key"}, []string{"192.0.2.1:1", "X-Api-Key", "a"}, []string{"192.0.2.1:1", "X-Api-Key", "b"}, false},
		// Leaving the header out gains nothing: the address counts.
		{"header key missing", ratelimit.Rule{Key: "header:X-Api-Key"}, []string{"192.0.2.1:1"}, []string{"192.0.2.1:1"}, true},
		{"cookie key", ratelimit.Rule{Key: "cookie:sessionid"}, []string{"192.0.2.1:1", "Cookie", "a=1; sessionid=s1"}, []string{"192.0.2.2:1", "Cookie", "sessionid=s1"}, true},
		{"cookie key, other value", ratelimit.Rule{Key: "cookie:sessionid"}, []string{"192.0.2.1:1", "Cookie", "sessionid=s1"}, []string{"192.0.2.1:1", "Cookie", "sessionid=s2"}, false},
		{"cookie key missing", ratelimit.Rule{Key: "cookie:sessionid"}, []string{"192.0.2.1:1", "Cookie", "other=s1"}, []string{"192.0.2.1:1"}, true},
		{"cookie name is exact", ratelimit.Rule{Key: "cookie:sessionid"}, []string{"192.0.2.1:1", "Cookie", "xsessionid=s1"}, []string{"192.0.2.1:1", "Cookie", "xsessionid=s2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ru := tt.rule
			ru.Name, ru.Rate, ru.Paths = "r", "1/h", []string{"/"}
			rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{ru}}, nil)
			if w := rg.do("GET", "/", tt.first[0], tt.first[1:]...); w.Code != 200 {
				t.Fatalf("first: %d", w.Code)
			}
			w := rg.do("GET", "/", tt.second[0], tt.second[1:]...)
			if got := w.Code == http.StatusTooManyRequests; got != tt.shared {
				t.Fatalf("second: %d; shared = %v, want %v", w.Code, got, tt.shared)
			}
		})
	}
}

// A request that no address identifies (a Unix socket) still counts.
func TestNoAddress(t *testing.T) {
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{rule("r", "1/h", "/")}}, nil)
	rg.do("GET", "/", "@")
	if w := rg.do("GET", "/", ""); w.Code != http.StatusTooManyRequests {
		t.Fatalf("second addressless request: %d, want 429", w.Code)
	}
}

// Every matching rule applies; the general rule keeps counting requests
// the login rule refuses too.
func TestSeveralRules(t *testing.T) {
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{
		rule("site", "5/m", "/"),
		{Name: "login", Rate: "2/m", Paths: []string{"/login"}},
	}}, nil)
	codes := ""
	for range 3 {
		codes += string(rune('0'+rg.do("GET", "/login", "192.0.2.1:1").Code/100)) + " "
	}
	for range 3 {
		codes += string(rune('0'+rg.do("GET", "/", "192.0.2.1:1").Code/100)) + " "
	}
	if codes != "2 2 4 2 2 4 " {
		t.Fatalf("status classes = %q", codes)
	}
}

// Failed-login mode: Django's LoginView answers a failed sign-in with 200
// and a successful one with 302. Only failures count.
func TestFailedLogin(t *testing.T) {
	login := ratelimit.Rule{Name: "login", Rate: "3/h", Paths: []string{"/accounts/login/"}, Methods: []string{"POST"},
		CountStatuses: []int{200}}
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{login}}, func(r *http.Request) int {
		if r.Header.Get("X-Password") == "right" {
			return http.StatusFound
		}
		return http.StatusOK
	})
	good := func() int { return rg.do("POST", "/accounts/login/", "192.0.2.1:1", "X-Password", "right").Code }
	bad := func() int { return rg.do("POST", "/accounts/login/", "192.0.2.1:1", "X-Password", "wrong").Code }
	// Successful sign-ins never count.
	for i := range 10 {
		if c := good(); c != http.StatusFound {
			t.Fatalf("good sign-in %d: %d", i, c)
		}
	}
	for i := range 3 {
		if c := bad(); c != http.StatusOK {
			t.Fatalf("failed sign-in %d: %d", i, c)
		}
	}
	if c := bad(); c != http.StatusTooManyRequests {
		t.Fatalf("4th failure: %d, want 429", c)
	}
	// Locked out now, even with the right password: that is what stops
	// the guess that happens to be right.
	if c := good(); c != http.StatusTooManyRequests {
		t.Fatalf("sign-in while locked out: %d, want 429", c)
	}
	// GETs of the form are not counted (methods = POST).
	if w := rg.do("GET", "/accounts/login/", "192.0.2.1:1"); w.Code != 200 {
		t.Fatalf("GET: %d", w.Code)
	}
	if rg.seen["login/refunded"] != 10 || rg.seen["login/limited"] != 2 || rg.seen["login/allowed"] != 13 {
		t.Fatalf("decisions = %v", rg.seen)
	}
	if got := len(rg.reached); got != 14 {
		t.Fatalf("the app saw %d requests, want 14", got)
	}
}

// Attempts sent at once cannot overshoot the limit while they wait for
// their answers: each is counted before it runs.
func TestFailedLoginConcurrent(t *testing.T) {
	release := make(chan struct{})
	login := ratelimit.Rule{Name: "login", Rate: "5/h", Paths: []string{"/login"}, CountStatuses: []int{200}}
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{login}}, func(*http.Request) int {
		<-release
		return http.StatusOK
	})
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for range 20 {
		wg.Go(func() { codes <- rg.do("POST", "/login", "192.0.2.1:1").Code })
	}
	// The refused ones answer without waiting.
	for range 15 {
		if c := <-codes; c != http.StatusTooManyRequests {
			t.Fatalf("an attempt beyond the limit got %d before the others answered", c)
		}
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Fatalf("an attempt within the limit got %d", c)
		}
	}
}

// A handler that writes nothing answers 200, and so counts as 200.
func TestFailedLoginImplicitStatus(t *testing.T) {
	login := ratelimit.Rule{Name: "login", Rate: "1/h", Paths: []string{"/login"}, CountStatuses: []int{200}}
	l, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{login}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	codes := []int{}
	for range 2 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/login", nil))
		codes = append(codes, w.Code)
	}
	if codes[0] != 200 || codes[1] != 429 {
		t.Fatalf("codes = %v, want [200 429]", codes)
	}
}

func TestStoreOutage(t *testing.T) {
	tests := []struct {
		name       string
		store      ratelimit.Store
		failClosed bool
		want       int
		decision   string
	}{
		{"down, open", ratelimittest.DownStore{}, false, 200, "failed_open"},
		{"down, closed", ratelimittest.DownStore{}, true, 503, "failed_closed"},
		{"frozen, open", ratelimittest.SlowStore{}, false, 200, "failed_open"},
		{"frozen, closed", ratelimittest.SlowStore{}, true, 503, "failed_closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ru := rule("r", "1/h", "/")
			ru.FailClosed = tt.failClosed
			ru.Timeout = 50 * time.Millisecond
			rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{ru}, Store: tt.store}, nil)
			for i := range 3 {
				start := time.Now()
				w := rg.do("GET", "/", "192.0.2.1:1")
				if w.Code != tt.want {
					t.Fatalf("request %d: %d, want %d", i, w.Code, tt.want)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Fatalf("request %d took %s: the timeout does not bound the store call", i, d)
				}
				if w.Header().Get("Retry-After") != "" {
					t.Fatalf("Retry-After on an outage answer")
				}
			}
			if rg.seen["r/"+tt.decision] != 3 {
				t.Fatalf("decisions = %v", rg.seen)
			}
			// The outage is logged, once (not once per request).
			if n := strings.Count(rg.logs.String(), `"event":"rate_limit_store_error"`); n != 1 {
				t.Fatalf("%d outage warnings, want 1:\n%s", n, rg.logs)
			}
			refusals := strings.Count(rg.logs.String(), `"reason":"store_unavailable"`)
			if tt.failClosed != (refusals == 3) {
				t.Fatalf("%d store_unavailable refusals:\n%s", refusals, rg.logs)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	l, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{rule("r", "2/s", "/")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for range 2 {
		if err := l.Check(r); err != nil {
			t.Fatal(err)
		}
	}
	err = l.Check(r)
	var e *ratelimit.Error
	if !errors.As(err, &e) || !errors.Is(err, ratelimit.ErrLimited) || e.Rule != "r" || e.Status() != 429 ||
		e.RetryAfter <= 0 || e.RetryAfter > 500*time.Millisecond {
		t.Fatalf("Check = %#v", err)
	}
	// Rounded up to whole seconds for Retry-After.
	w := httptest.NewRecorder()
	l.Handler(http.NotFoundHandler()).ServeHTTP(w, r)
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

// No rules: the handler is next itself.
func TestNoRules(t *testing.T) {
	l, err := ratelimit.New(ratelimit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.NotFoundHandler()
	if got := l.Handler(h); got == nil || l.Check(httptest.NewRequest("GET", "/", nil)) != nil {
		t.Fatal("no rules should limit nothing")
	}
}

func TestConfigErrors(t *testing.T) {
	ok := rule("r", "1/s", "/")
	tests := []struct {
		name   string
		mutate func(*ratelimit.Rule)
		want   string
	}{
		{"no name", func(r *ratelimit.Rule) { r.Name = "" }, "name is required"},
		{"bad name", func(r *ratelimit.Rule) { r.Name = "Login Page" }, "name is required"},
		{"no paths", func(r *ratelimit.Rule) { r.Paths = nil }, "paths is required"},
		{"relative path", func(r *ratelimit.Rule) { r.Paths = []string{"login"} }, "must start with /"},
		{"unclean path", func(r *ratelimit.Rule) { r.Paths = []string{"/a//b"} }, "not clean"},
		{"lower-case method", func(r *ratelimit.Rule) { r.Methods = []string{"post"} }, "upper-case"},
		{"no rate", func(r *ratelimit.Rule) { r.Rate = "" }, "rate is required"},
		{"bad rate", func(r *ratelimit.Rule) { r.Rate = "5 per minute" }, `rate = "5 per minute": write N/s`},
		{"negative burst", func(r *ratelimit.Rule) { r.Burst = -1 }, "burst"},
		{"huge burst", func(r *ratelimit.Rule) { r.Burst = ratelimit.MaxBurst + 1 }, "burst"},
		{"bad key", func(r *ratelimit.Rule) { r.Key = "user" }, "key"},
		{"bad header key", func(r *ratelimit.Rule) { r.Key = "header:X Y" }, "key"},
		{"empty cookie key", func(r *ratelimit.Rule) { r.Key = "cookie:" }, "key"},
		{"ipv6 prefix", func(r *ratelimit.Rule) { r.IPv6Prefix = 129 }, "ipv6_prefix"},
		{"ipv4 prefix", func(r *ratelimit.Rule) { r.IPv4Prefix = 4 }, "ipv4_prefix"},
		{"status", func(r *ratelimit.Rule) { r.CountStatuses = []int{20} }, "count_statuses"},
		{"negative timeout", func(r *ratelimit.Rule) { r.Timeout = -1 }, "timeout"},
		{"long timeout", func(r *ratelimit.Rule) { r.Timeout = time.Minute }, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mutate(&r)
			_, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{r}})
			if err == nil || !errors.Is(err, ratelimit.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v; want an ErrConfig mentioning %q", err, tt.want)
			}
			if strings.Count(err.Error(), "ratelimit:") != 1 {
				t.Errorf("%q names the package more than once", err)
			}
		})
	}
	if err := (ratelimit.Config{Rules: []ratelimit.Rule{ok, ok}}).Validate(); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("duplicate names: %v", err)
	}
	if err := (ratelimit.Config{Rules: make([]ratelimit.Rule, ratelimit.MaxRules+1)}).Validate(); err == nil {
		t.Fatal("too many rules accepted")
	}
	if err := (ratelimit.Config{Rules: []ratelimit.Rule{ok}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in       string
		interval time.Duration
		err      bool
	}{
		{"1/s", time.Second, false},
		{"10/s", 100 * time.Millisecond, false},
		{"5/m", 12 * time.Second, false},
		{"3600/h", time.Second, false},
		{"1000000/s", time.Microsecond, false},
		{"1000001/s", 0, true},
		{"0/s", 0, true},
		{"-1/s", 0, true},
		{"+1/s", 0, true},
		{"01/s", 0, true},
		{"1/d", 0, true},
		{"1/S", 0, true},
		{"1 /s", 0, true},
		{"1/ s", 0, true},
		{"1/sec", 0, true},
		{"1s", 0, true},
		{"/s", 0, true},
		{"1/", 0, true},
		{"", 0, true},
		{"99999999999999999999/h", 0, true},
		{"1.5/s", 0, true},
	}
	for _, tt := range tests {
		r, err := ratelimit.ParseRate(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseRate(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && (r.Interval() != tt.interval || r.String() != tt.in) {
			t.Errorf("ParseRate(%q) = %v (interval %s), want interval %s", tt.in, r, r.Interval(), tt.interval)
		}
		if err != nil && !errors.Is(err, ratelimit.ErrInvalidRate) {
			t.Errorf("ParseRate(%q) error %v does not wrap ErrInvalidRate", tt.in, err)
		}
	}
}

func TestDecisionNames(t *testing.T) {
	want := map[ratelimit.Decision]string{ratelimit.Allowed: "allowed", ratelimit.Limited: "limited",
		ratelimit.FailedOpen: "failed_open", ratelimit.FailedClosed: "failed_closed", ratelimit.Refunded: "refunded", 99: "unknown"}
	for d, s := range want {
		if d.String() != s {
			t.Errorf("%d.String() = %q, want %q", d, d.String(), s)
		}
	}
}

// The refusal event carries at most a bounded piece of what the client
// sent.
func TestRefusalEventBounded(t *testing.T) {
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{rule("r", "1/h", "/")}}, nil)
	long := "/" + strings.Repeat("a", 10000)
	rg.do("GET", long, "192.0.2.1:1")
	rg.do("GET", long, "192.0.2.1:1")
	if n := rg.logs.Len(); n > 2000 || !strings.Contains(rg.logs.String(), `"path":"/aaa`) {
		t.Fatalf("event of %d bytes: %.300s", n, rg.logs.String())
	}
}

// countingStore counts the calls to the store it wraps.
type countingStore struct {
	ratelimit.Store
	calls atomic.Int32
}

func (c *countingStore) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	c.calls.Add(1)
	return c.Store.Take(ctx, key, l, cost)
}

// A failed-login request costs one store call when it counts, two when it
// is refunded, and one when the store is down (nothing was counted, so
// nothing is refunded: an outage does not double the wait).
func TestFailedLoginStoreCalls(t *testing.T) {
	login := ratelimit.Rule{Name: "login", Rate: "5/h", Paths: []string{"/login"}, CountStatuses: []int{200}, Timeout: 50 * time.Millisecond}
	for _, tt := range []struct {
		name   string
		store  ratelimit.Store
		status int
		calls  int32
	}{
		{"failure counted", ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}), 200, 1},
		{"success refunded", ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}), 302, 2},
		{"store down", ratelimittest.DownStore{}, 302, 1},
		{"store frozen", ratelimittest.SlowStore{}, 302, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := &countingStore{Store: tt.store}
			rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{login}, Store: cs}, func(*http.Request) int { return tt.status })
			if w := rg.do("POST", "/login", "192.0.2.1:1"); w.Code != tt.status {
				t.Fatalf("status %d", w.Code)
			}
			if got := cs.calls.Load(); got != tt.calls {
				t.Fatalf("%d store calls, want %d", got, tt.calls)
			}
		})
	}
}

// keyStore records the keys it is given.
type keyStore struct {
	ratelimit.Store
	mu   sync.Mutex
	keys []string
}

func (k *keyStore) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	k.mu.Lock()
	k.keys = append(k.keys, strings.Clone(key))
	k.mu.Unlock()
	return k.Store.Take(ctx, key, l, cost)
}

// Stores never see a header's or cookie's value (it may be a credential):
// only a digest of it, of bounded length; and every key names its rule.
func TestKeysHideValues(t *testing.T) {
	ks := &keyStore{Store: ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})}
	rg := newRig(t, ratelimit.Config{Store: ks, Rules: []ratelimit.Rule{
		{Name: "api", Rate: "9/h", Paths: []string{"/"}, Key: "header:Authorization"},
		{Name: "sess", Rate: "9/h", Paths: []string{"/"}, Key: "cookie:sessionid"},
		{Name: "ip", Rate: "9/h", Paths: []string{"/"}},
	}}, nil)
	secret := "Bearer s3cr3t-" + strings.Repeat("x", 5000)
	rg.do("GET", "/", "[2001:db8:1:2:3:4:5:6]:1", "Authorization", secret, "Cookie", "sessionid=sess10n-s3cr3t")
	if len(ks.keys) != 3 {
		t.Fatalf("keys %q", ks.keys)
	}
	for i, want := range []string{"api:h:", "sess:c:", "ip:ip6/64:20010db800010002"} {
		k := ks.keys[i]
		if !strings.HasPrefix(k, want) || strings.Contains(k, "s3cr3t") || len(k) > 64 {
			t.Errorf("key %q (want prefix %q, no secret, at most 64 bytes)", k, want)
		}
	}
	// The /64 is the key: the interface identifier is not.
	if k := ks.keys[2]; k != "ip:ip6/64:20010db800010002" {
		t.Errorf("ip key %q", k)
	}
}

func TestWithDefaults(t *testing.T) {
	in := []ratelimit.Rule{
		{Name: "a", Rate: "5/m", Paths: []string{"/"}},
		{Name: "b", Rate: "5/m", Burst: 2, Paths: []string{"/"}, Key: "header:X", IPv6Prefix: 48, Timeout: time.Second},
		{Name: "bad", Rate: "nonsense"},
	}
	out := ratelimit.WithDefaults(in)
	want := []ratelimit.Rule{
		{Name: "a", Rate: "5/m", Burst: 5, Paths: []string{"/"}, Key: "ip", IPv4Prefix: 32, IPv6Prefix: 64, Timeout: ratelimit.DefaultTimeout},
		{Name: "b", Rate: "5/m", Burst: 2, Paths: []string{"/"}, Key: "header:X", IPv4Prefix: 32, IPv6Prefix: 48, Timeout: time.Second},
		{Name: "bad", Rate: "nonsense"},
	}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("WithDefaults =\n%+v\nwant\n%+v", out, want)
	}
	// The input is not modified, and the output means the same.
	if in[0].Burst != 0 || in[0].Key != "" {
		t.Fatal("input modified")
	}
	if err := (ratelimit.Config{Rules: out[:2]}).Validate(); err != nil {
		t.Fatal(err)
	}
	if ratelimit.WithDefaults(nil) != nil {
		t.Fatal("nil in, non-nil out")
	}
}

// lateStore answers every call after its delay whatever ctx says, as a
// client whose connection attempt runs to its own, longer, timeout.
type lateStore struct {
	delay time.Duration
	calls atomic.Int32
}

func (s *lateStore) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	s.calls.Add(1)
	time.Sleep(s.delay)
	return ratelimit.Result{}, errors.New("store: connect timeout")
}

// The rule's timeout bounds the wait for the store, not only the context
// the store is given: a store answering late costs each rule its timeout,
// and the outage policy decides.
func TestStoreAnswersLate(t *testing.T) {
	site := rule("site", "1000/m", "/")
	site.Timeout = 50 * time.Millisecond
	login := rule("login", "2/h", "/login")
	login.Timeout = 50 * time.Millisecond
	login.FailClosed = true
	s := &lateStore{delay: 2 * time.Second}
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{site, login}, Store: s}, nil)
	for _, tt := range []struct {
		path string
		want int
	}{{"/", 200}, {"/login", 503}} {
		start := time.Now()
		w := rg.do("GET", tt.path, "192.0.2.1:1")
		if w.Code != tt.want {
			t.Fatalf("%s: %d, want %d", tt.path, w.Code, tt.want)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%s took %s with two rules of 50ms: the wait for the store is not bounded", tt.path, d)
		}
	}
	if got := s.calls.Load(); got != 2 {
		t.Fatalf("%d store calls, want 2 (one per request)", got)
	}
	if rg.seen["site/failed_open"] != 2 || rg.seen["login/failed_closed"] != 1 {
		t.Fatalf("decisions = %v", rg.seen)
	}
	if !strings.Contains(rg.logs.String(), "store did not answer within 50ms") {
		t.Fatalf("the warning does not say why:\n%s", rg.logs)
	}
}

// Once the store has failed for a request, its later rules apply their
// outage policy without a call: a frozen store costs a request one
// timeout, not one per rule it matches, and a failed-login rule counted
// before the failure is not refunded (the client keeps the count).
func TestStoreDownOneCallPerRequest(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store ratelimit.Store
	}{{"down", ratelimittest.DownStore{}}, {"frozen", ratelimittest.SlowStore{}}} {
		t.Run(tt.name, func(t *testing.T) {
			site := rule("site", "1000/m", "/")
			site.Timeout = 50 * time.Millisecond
			login := rule("login", "2/h", "/login")
			login.Timeout = 50 * time.Millisecond
			login.FailClosed = true
			cs := &countingStore{Store: tt.store}
			rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{site, login}, Store: cs}, nil)
			if w := rg.do("GET", "/login", "192.0.2.1:1"); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503", w.Code)
			}
			if got := cs.calls.Load(); got != 1 {
				t.Fatalf("%d store calls, want 1", got)
			}
			if rg.seen["site/failed_open"] != 1 || rg.seen["login/failed_closed"] != 1 {
				t.Fatalf("decisions = %v", rg.seen)
			}
			l, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{site, login}, Store: cs, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			var e *ratelimit.Error
			if err := l.Check(httptest.NewRequest("GET", "/login", nil)); !errors.As(err, &e) || e.Err != ratelimit.ErrStoreUnavailable {
				t.Fatalf("Check: %v", err)
			}
			if got := cs.calls.Load(); got != 2 {
				t.Fatalf("Check: %d store calls in all, want 2", got)
			}
		})
	}
	// A failed-login rule counted before the store failed is not
	// refunded in the same request.
	login := ratelimit.Rule{Name: "login", Rate: "5/h", Paths: []string{"/login"}, CountStatuses: []int{200}, Timeout: 50 * time.Millisecond}
	api := ratelimit.Rule{Name: "api", Rate: "5/h", Paths: []string{"/login"}, Timeout: 50 * time.Millisecond, FailClosed: true}
	fs := &failAfter{Store: ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}), ok: 1}
	rg := newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{login, api}, Store: fs}, nil)
	if w := rg.do("POST", "/login", "192.0.2.1:1"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	if got := fs.calls.Load(); got != 2 {
		t.Fatalf("%d store calls, want 2 (no refund)", got)
	}
	if rg.seen["login/allowed"] != 1 || rg.seen["api/failed_closed"] != 1 || rg.seen["login/refunded"] != 0 {
		t.Fatalf("decisions = %v", rg.seen)
	}
	// Nor when a later fail-open rule lets the request through and the
	// application answers with a status that does not count.
	api.FailClosed = false
	fs = &failAfter{Store: ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}), ok: 1}
	rg = newRig(t, ratelimit.Config{Rules: []ratelimit.Rule{login, api}, Store: fs}, func(*http.Request) int { return http.StatusFound })
	if w := rg.do("POST", "/login", "192.0.2.1:1"); w.Code != http.StatusFound {
		t.Fatalf("status %d, want 302", w.Code)
	}
	if got := fs.calls.Load(); got != 2 {
		t.Fatalf("%d store calls, want 2 (no refund)", got)
	}
	if rg.seen["login/allowed"] != 1 || rg.seen["api/failed_open"] != 1 || rg.seen["login/refunded"] != 0 {
		t.Fatalf("decisions = %v", rg.seen)
	}
}

// failAfter passes its first ok calls to Store and fails the others.
type failAfter struct {
	ratelimit.Store
	ok    int32
	calls atomic.Int32
}

func (f *failAfter) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	if f.calls.Add(1) > f.ok {
		return ratelimit.Result{}, errors.New("store down")
	}
	return f.Store.Take(ctx, key, l, cost)
}
