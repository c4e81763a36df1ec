package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/refusal/refusaltest"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	"github.com/bulwarkdev/bulwark/ratelimit/redisstore"
)

// rateLimits parses [[rate_limit]] tables as the gateway's file holds them.
func rateLimits(t testing.TB, toml string) []ratelimit.Rule {
	t.Helper()
	c, err := gateway.Parse([]byte("[upstream]\nurl = \"http://127.0.0.1:1\"\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n" + toml))
	if err != nil {
		t.Fatal(err)
	}
	return c.RateLimit
}

func metricsText(t testing.TB, e *env) string {
	t.Helper()
	r, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestRateLimit(t *testing.T) {
	rules := rateLimits(t, `
[[rate_limit]]
name = "api"
paths = ["/api/"]
rate = "5/m"
`)
	e := start(t, nil, func(c *gateway.Config) { c.RateLimit = rules })
	codes := map[int]int{}
	for i := range 8 {
		resp, body := e.get(e.https + "/api/items?i=" + strconv.Itoa(i))
		codes[resp.StatusCode]++
		switch resp.StatusCode {
		case 200:
			if ec := decodeEcho(t, body); ec.Path != "/api/items" || ec.Query != "i="+strconv.Itoa(i) {
				t.Fatalf("the app received %+v", ec)
			}
		case http.StatusTooManyRequests:
			// 5/m: one request every 12 s.
			if ra, _ := strconv.Atoi(resp.Header.Get("Retry-After")); ra < 1 || ra > 12 {
				t.Fatalf("Retry-After = %q", resp.Header.Get("Retry-After"))
			}
			if body != "Too Many Requests\n" || resp.Header.Get("Strict-Transport-Security") == "" {
				t.Fatalf("429 body %q, headers %v", body, resp.Header)
			}
		default:
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	if codes[200] != 5 || codes[429] != 3 {
		t.Fatalf("codes = %v, want 5×200 and 3×429", codes)
	}
	if n := e.up.hits.Load(); n != 5 {
		t.Fatalf("the app saw %d requests, want 5", n)
	}
	// Other paths are not limited.
	if resp, _ := e.get(e.https + "/other"); resp.StatusCode != 200 {
		t.Fatalf("/other: %d", resp.StatusCode)
	}
	m := metricsText(t, e)
	for _, want := range []string{
		`bulwark_rate_limit_decisions_total{decision="allowed",rule="api"} 5`,
		`bulwark_rate_limit_decisions_total{decision="limited",rule="api"} 3`,
		`bulwark_rate_limit_decisions_total{decision="failed_open",rule="api"} 0`,
		`bulwark_refusals_total{event="rate_limit",reason="rate_limited"} 3`,
		`bulwark_requests_total{code="429"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	evs := refusaltest.Events(t, e.logs.String(), "rate_limit")
	if len(evs) != 3 {
		t.Fatalf("%d refusal events, want 3", len(evs))
	}
	for _, ev := range evs {
		if ev["reason"] != "rate_limited" || ev["rule"] != "api" {
			t.Errorf("refusal event %v", ev)
		}
		if err := refusaltest.Check(ev, "127.0.0.1", siteHost+":"+e.httpsPrt); err != nil {
			t.Errorf("%v: %v", err, ev)
		}
	}
}

// The counts outlive a reload: a SIGHUP gives no client a fresh allowance.
func TestRateLimitReload(t *testing.T) {
	rules := []ratelimit.Rule{{Name: "site", Rate: "2/h", Paths: []string{"/"}}}
	e := start(t, nil, func(c *gateway.Config) { c.RateLimit = rules })
	e.get(e.https + "/")
	e.get(e.https + "/")
	cfg := e.cfg
	cfg.Headers.ReferrerPolicy = []string{"no-referrer"}
	if err := e.g.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.get(e.https + "/")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("after reload: %d, Referrer-Policy %q", resp.StatusCode, resp.Header.Get("Referrer-Policy"))
	}
}

// Clients behind a trusted proxy are told apart by the address it
// forwards; from an untrusted peer, X-Forwarded-For chooses nothing.
func TestRateLimitForwardedClient(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprint("trusted=", trusted), func(t *testing.T) {
			e := start(t, nil, func(c *gateway.Config) {
				c.RateLimit = []ratelimit.Rule{{Name: "site", Rate: "1/h", Paths: []string{"/"}}}
				if trusted {
					c.Proxy.Trusted = []string{"loopback"}
				}
			})
			first, _ := e.get(e.https+"/", "X-Forwarded-For", "192.0.2.1")
			second, _ := e.get(e.https+"/", "X-Forwarded-For", "192.0.2.2")
			third, _ := e.get(e.https+"/", "X-Forwarded-For", "192.0.2.1")
			if first.StatusCode != 200 || third.StatusCode != 429 {
				t.Fatalf("first %d, third %d", first.StatusCode, third.StatusCode)
			}
			if want := map[bool]int{true: 200, false: 429}[trusted]; second.StatusCode != want {
				t.Fatalf("another forwarded client: %d, want %d", second.StatusCode, want)
			}
		})
	}
}

// loginApp answers like Django's LoginView: POST with the right password
// redirects (302), a wrong one re-renders the form (200).
func loginApp(t *testing.T) (*upstream, *atomic.Int64) {
	var posts atomic.Int64
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			return
		}
		u.hits.Add(1)
		if r.Method == http.MethodPost {
			posts.Add(1)
			r.ParseForm()
			if r.PostForm.Get("password") == "right" {
				http.Redirect(w, r, "/accounts/profile/", http.StatusFound)
				return
			}
		}
		io.WriteString(w, "<form method=post>")
	}))
	t.Cleanup(u.Close)
	return u, &posts
}

func postLogin(t testing.TB, e *env, password string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", e.https+"/accounts/login/", strings.NewReader(url.Values{"username": {"u"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.https)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, _ := e.do(req)
	return resp.StatusCode
}

const failedLoginRule = `
[[rate_limit]]
name = "login"
paths = ["/accounts/login/", "/admin/login/"]
methods = ["POST"]
rate = "3/h"
count_statuses = [200]
`

func TestRateLimitFailedLogin(t *testing.T) {
	up, posts := loginApp(t)
	rules := rateLimits(t, failedLoginRule)
	e := start(t, up, func(c *gateway.Config) { c.RateLimit = rules })
	for i := range 6 {
		if c := postLogin(t, e, "right"); c != http.StatusFound {
			t.Fatalf("sign-in %d: %d", i, c)
		}
	}
	for i := range 3 {
		if c := postLogin(t, e, "wrong"); c != 200 {
			t.Fatalf("failure %d: %d", i, c)
		}
	}
	if c := postLogin(t, e, "wrong"); c != http.StatusTooManyRequests {
		t.Fatalf("4th failure: %d", c)
	}
	if c := postLogin(t, e, "right"); c != http.StatusTooManyRequests {
		t.Fatalf("sign-in while locked out: %d", c)
	}
	if n := posts.Load(); n != 9 {
		t.Fatalf("the app saw %d sign-in attempts, want 9", n)
	}
	m := metricsText(t, e)
	for _, want := range []string{
		`bulwark_rate_limit_decisions_total{decision="refunded",rule="login"} 6`,
		`bulwark_rate_limit_decisions_total{decision="limited",rule="login"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// sharedStores returns n stores on one server, each with a client of its
// own (n gateways' worth), for each kind of shared store, under a prefix
// or table of the test's own.
func sharedStores(t *testing.T, kind string, n int) []ratelimit.Store {
	t.Helper()
	var out []ratelimit.Store
	switch kind {
	case "redis":
		prefix := testsvc.Unique("bulwark:test:gwrl:") + ":"
		for range n {
			c := testsvc.Redis(t)
			s, err := redisstore.New(c, redisstore.Config{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		c := testsvc.Redis(t)
		t.Cleanup(func() {
			ctx := context.Background()
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		})
	default:
		table := testsvc.Unique("bulwark_test_gwrl_")
		p := testsvc.Postgres(t)
		t.Cleanup(func() { p.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()) })
		for range n {
			s, err := pgstore.New(context.Background(), testsvc.Postgres(t), pgstore.Config{Table: table})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
	}
	return out
}

// Three gateways sharing a store enforce one limit: N+k requests spread
// over them give exactly k 429s, and failed-login mode counts only
// failures wherever they arrive.
func TestRateLimitAcrossGateways(t *testing.T) {
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			stores := sharedStores(t, kind, 3)
			up, posts := loginApp(t)
			rules := rateLimits(t, failedLoginRule+`
[[rate_limit]]
name = "api"
paths = ["/api/"]
rate = "5/m"
`)
			var gws []*env
			for _, s := range stores {
				gws = append(gws, start(t, up, func(c *gateway.Config) { c.RateLimit = rules; c.RateLimitStore = s }))
			}
			var limited, ok int
			for i := range 8 {
				e := gws[i%len(gws)]
				resp, _ := e.get(e.https + "/api/x")
				switch resp.StatusCode {
				case 200:
					ok++
				case http.StatusTooManyRequests:
					limited++
					if resp.Header.Get("Retry-After") == "" {
						t.Fatal("429 without Retry-After")
					}
				default:
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			if ok != 5 || limited != 3 {
				t.Fatalf("8 requests over three gateways, 5/m: %d allowed, %d refused; want 5 and 3", ok, limited)
			}
			if n := up.hits.Load(); n != 5 {
				t.Fatalf("the app saw %d requests, want 5", n)
			}
			// Sign-ins: successes on any gateway never count; the third
			// failure locks the client out on all of them.
			for i := range 4 {
				if c := postLogin(t, gws[i%len(gws)], "right"); c != http.StatusFound {
					t.Fatalf("sign-in %d: %d", i, c)
				}
			}
			for i := range 3 {
				if c := postLogin(t, gws[i%len(gws)], "wrong"); c != 200 {
					t.Fatalf("failure %d: %d", i, c)
				}
			}
			for _, e := range gws {
				if c := postLogin(t, e, "wrong"); c != http.StatusTooManyRequests {
					t.Fatalf("failure after the limit: %d", c)
				}
			}
			if n := posts.Load(); n != 7 {
				t.Fatalf("the app saw %d sign-in attempts, want 7", n)
			}
		})
	}
}

// frozenStore is a shared store whose server the test can freeze: a
// private redis-server stopped with SIGSTOP, or the test PostgreSQL behind
// a relay that stops relaying (it is shared, so it cannot be stopped).
type frozenStore struct {
	store        ratelimit.Store
	freeze, thaw func() error
}

func newFrozenStore(t *testing.T, kind string) frozenStore {
	t.Helper()
	if kind == "redis" {
		srv := testsvc.StartRedis(t)
		client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
		t.Cleanup(func() { client.Close() })
		store, err := redisstore.New(client, redisstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return frozenStore{store, func() error { srv.Freeze(); return nil }, func() error { srv.Thaw(); return nil }}
	}
	shared := testsvc.Postgres(t)
	cfg, err := pgxpool.ParseConfig(testsvc.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	relay := testsvc.StartRelay(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = "127.0.0.1", uint16(relay.Port())
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	table := testsvc.Unique("bulwark_test_gwrl_")
	t.Cleanup(func() { shared.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()) })
	store, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return frozenStore{store, func() error { relay.Freeze(); return nil }, func() error { relay.Thaw(); return nil }}
}

// The store frozen under load: a fail-open rule lets requests through, a
// fail-closed rule answers 503, each within the deadline, and the limits
// apply again once the store answers, without a restart.
func TestRateLimitFrozenStore(t *testing.T) {
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) { testFrozenStore(t, newFrozenStore(t, kind)) })
	}
}

func testFrozenStore(t *testing.T, fs frozenStore) {
	store := fs.store
	e := start(t, nil, func(c *gateway.Config) {
		c.RateLimit = []ratelimit.Rule{
			{Name: "site", Rate: "1000/m", Paths: []string{"/"}, Timeout: 200 * time.Millisecond},
			{Name: "login", Rate: "2/h", Paths: []string{"/login"}, Timeout: 200 * time.Millisecond, FailClosed: true},
		}
		c.RateLimitStore = store
	})
	if resp, _ := e.get(e.https + "/login"); resp.StatusCode != 200 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	if err := fs.freeze(); err != nil {
		t.Fatal(err)
	}
	frozen := true
	defer func() {
		if frozen {
			fs.thaw()
		}
	}()
	var wg sync.WaitGroup
	var slow atomic.Int64
	codes := make(chan string, 40)
	for i := range 20 {
		wg.Go(func() {
			path := "/"
			if i%2 == 1 {
				path = "/login"
			}
			start := time.Now()
			resp, _ := e.get(e.https + path)
			if time.Since(start) > 2*time.Second {
				slow.Add(1)
			}
			codes <- path + " " + strconv.Itoa(resp.StatusCode)
		})
	}
	wg.Wait()
	close(codes)
	got := map[string]int{}
	for c := range codes {
		got[c]++
	}
	if got["/ 200"] != 10 || got["/login 503"] != 10 {
		t.Fatalf("while frozen: %v; want / open (200) and /login closed (503)", got)
	}
	if slow.Load() > 0 {
		t.Fatalf("%d requests took over 2 s with a 200 ms store deadline", slow.Load())
	}
	m := metricsText(t, e)
	for _, want := range []string{
		`bulwark_rate_limit_decisions_total{decision="failed_open",rule="site"} 20`,
		`bulwark_rate_limit_decisions_total{decision="failed_closed",rule="login"} 10`,
		`bulwark_refusals_total{event="rate_limit",reason="store_unavailable"} 10`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if !strings.Contains(e.logs.String(), `"event":"rate_limit_store_error"`) {
		t.Error("no outage warning logged")
	}
	if err := fs.thaw(); err != nil {
		t.Fatal(err)
	}
	frozen = false
	// Recovery: the login rule counts again. One request before the
	// freeze; those cut short by the deadline may or may not have been
	// counted (a script or a statement runs whole or not at all), so the
	// client is refused after at most one more.
	waitFor(t, "the store to answer again", func() bool {
		resp, _ := e.get(e.https + "/login")
		return resp.StatusCode == http.StatusTooManyRequests
	})
}
