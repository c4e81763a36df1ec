package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// TestClusterRateLimit runs three gateway processes sharing only a
// [cluster] store (Redis, then PostgreSQL), with the rate limits of their
// one configuration file: a limit of 5 a minute holds across them (8
// requests spread over the three give exactly 3 429s with Retry-After),
// and the failed-login rule counts only failures, wherever they arrive.
func TestClusterRateLimit(t *testing.T) {
	for name, store := range clusterStores() {
		t.Run(name, func(t *testing.T) {
			storeURL, prefix := store(t)
			if name == "postgres" {
				p := testsvc.Postgres(t)
				t.Cleanup(func() { p.Exec(context.Background(), "DROP TABLE IF EXISTS "+prefix+"_ratelimit") })
			}
			up, posts := loginApp(t)
			certFile, keyFile, pool := writeCert(t, t.TempDir())
			cfg := fmt.Sprintf(`
[listen]
https = "127.0.0.1:0"
http = "off"
admin = "off"

[tls]
cert_file = %q
key_file = %q

[upstream]
url = %q

[hosts]
allowed = ["site.test"]

[cluster]
store_env = "BULWARK_TEST_CLUSTER_STORE"
prefix = %q

[[rate_limit]]
name = "api"
paths = ["/api/"]
rate = "5/m"
%s`, certFile, keyFile, up.URL, prefix, failedLoginRule)
			gws := startFleet(t, 3, cfg, "BULWARK_TEST_CLUSTER_STORE="+storeURL)
			do := func(i int, req *http.Request) (*http.Response, string) {
				t.Helper()
				res, err := fleetClient(gws[i%len(gws)].HTTPS, pool, 0, nil).Do(req)
				if err != nil {
					t.Fatalf("gateway %d: %v", i%len(gws), err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res, string(b)
			}
			codes := map[int]int{}
			for i := range 8 {
				req, _ := http.NewRequest("GET", "https://"+siteHost+"/api/x", nil)
				res, _ := do(i, req)
				codes[res.StatusCode]++
				if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			}
			if codes[200] != 5 || codes[429] != 3 {
				t.Fatalf("8 requests over three gateways, 5/m: %v; want 5×200 and 3×429", codes)
			}
			if n := up.hits.Load(); n != 5 {
				t.Fatalf("the app saw %d requests, want 5", n)
			}
			login := func(i int, password string) int {
				form := url.Values{"username": {"u"}, "password": {password}}.Encode()
				req, _ := http.NewRequest("POST", "https://"+siteHost+"/accounts/login/", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", "https://"+siteHost)
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				res, _ := do(i, req)
				return res.StatusCode
			}
			for i := range 4 {
				if c := login(i, "right"); c != http.StatusFound {
					t.Fatalf("sign-in %d: %d", i, c)
				}
			}
			for i := range 3 {
				if c := login(i, "wrong"); c != 200 {
					t.Fatalf("failure %d: %d", i, c)
				}
			}
			for i := range 3 {
				if c := login(i, "wrong"); c != http.StatusTooManyRequests {
					t.Fatalf("failure after the limit, gateway %d: %d", i, c)
				}
			}
			if n := posts.Load(); n != 7 {
				t.Fatalf("the app saw %d sign-in attempts, want 7", n)
			}
		})
	}
}
