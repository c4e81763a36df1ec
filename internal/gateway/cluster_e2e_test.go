package gateway_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// clusterStores are the shared stores the fleet tests run on, each under
// a fresh prefix, with its data removed when the test ends.
func clusterStores() map[string]func(t *testing.T) (url, prefix string) {
	return map[string]func(t *testing.T) (string, string){
		"redis": func(t *testing.T) (string, string) {
			c := testsvc.Redis(t)
			prefix := testsvc.Unique("bwtest_")
			t.Cleanup(func() {
				ctx := context.Background()
				iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
				for iter.Next(ctx) {
					c.Del(ctx, iter.Val())
				}
			})
			return "redis://" + testsvc.RedisAddr() + "/0", prefix
		},
		"postgres": func(t *testing.T) (string, string) {
			p := testsvc.Postgres(t)
			prefix := testsvc.Unique("bwtest_")
			t.Cleanup(func() {
				p.Exec(context.Background(), "DROP TABLE IF EXISTS "+prefix+"_kv, "+prefix+"_lock")
			})
			return testsvc.PostgresURL(), prefix
		},
	}
}

// fleetClient returns a client for site.test at addr that makes a new
// connection for every request, with the given TLS version and session
// cache.
func fleetClient(addr string, pool *x509.CertPool, version uint16, cache tls.ClientSessionCache) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: siteHost,
				MinVersion: version, MaxVersion: version, ClientSessionCache: cache},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// fleetTOML is the configuration of a fleet test's gateways: HTTPS only on
// loopback with the test certificate, site.test in front of upURL, the
// store's URL from BULWARK_TEST_CLUSTER_STORE; tlsExtra is added to [tls],
// clusterExtra to [cluster] (and may go on with other tables).
func fleetTOML(certFile, keyFile, upURL, tlsExtra, clusterExtra string) string {
	return fmt.Sprintf(`
[listen]
https = "127.0.0.1:0"
http = "off"
admin = "off"

[tls]
cert_file = %q
key_file = %q
%s
[upstream]
url = %q

[hosts]
allowed = ["site.test"]

[cluster]
store_env = "BULWARK_TEST_CLUSTER_STORE"
%s`, certFile, keyFile, tlsExtra, upURL, clusterExtra)
}

// fleetGet makes one request for path through gateway gw on a new
// connection and reports whether the TLS session resumed; the request must
// reach the app as sent.
func fleetGet(t *testing.T, gws []*fleetGateway, gw int, pool *x509.CertPool, version uint16, cache tls.ClientSessionCache, path string) bool {
	t.Helper()
	res, err := fleetClient(gws[gw].HTTPS, pool, version, cache).Get("https://" + siteHost + path)
	if err != nil {
		t.Fatalf("gateway %d: %v", gw, err)
	}
	defer res.Body.Close()
	var e echoed
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil || res.StatusCode != 200 {
		t.Fatalf("gateway %d: status %d, %v", gw, res.StatusCode, err)
	}
	if e.Path != path || e.Host != siteHost {
		t.Fatalf("gateway %d: the app received %s %s", gw, e.Host, e.Path)
	}
	return res.TLS.DidResume
}

// TestClusterResumption runs two gateway processes sharing only a cluster
// store (Redis, then PostgreSQL): a TLS session established on one
// resumes on the other, with TLS 1.2 and TLS 1.3, and the request reaches
// the app either way.
func TestClusterResumption(t *testing.T) {
	for name, store := range clusterStores() {
		t.Run(name, func(t *testing.T) {
			url, prefix := store(t)
			up := newUpstream(t)
			certFile, keyFile, pool := writeCert(t, t.TempDir())
			cfg := fleetTOML(certFile, keyFile, up.URL, "", fmt.Sprintf("prefix = %q\nticket_key_secret_env = \"BULWARK_TEST_TICKET_SECRET\"\n", prefix))
			gws := startFleet(t, 2, cfg,
				"BULWARK_TEST_CLUSTER_STORE="+url,
				"BULWARK_TEST_TICKET_SECRET="+strings.Repeat(testsvc.Unique("x"), 4))
			for _, v := range []struct {
				name    string
				version uint16
			}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
				t.Run(v.name, func(t *testing.T) {
					cache := tls.NewLRUClientSessionCache(4)
					get := func(gw int, path string) bool {
						t.Helper()
						return fleetGet(t, gws, gw, pool, v.version, cache, path)
					}
					if get(0, "/first") {
						t.Fatal("the first connection resumed")
					}
					if !get(1, "/second") {
						t.Fatal("a session from gateway 0 did not resume on gateway 1")
					}
					if !get(0, "/third") {
						t.Fatal("a session from gateway 1 did not resume on gateway 0")
					}
				})
			}
		})
	}
}

// TestClusterACME starts three gateway processes together, sharing a
// cluster store, against Pebble behind a layer-4 load balancer (Pebble
// validates through it, so any gateway may get the challenge): one order
// per name is placed, and every gateway serves that certificate. HTTP-01
// runs on Redis, TLS-ALPN-01 on PostgreSQL.
func TestClusterACME(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Pebble and three gateway processes")
	}
	names := []string{"a.fleet.test", "b.fleet.test"}
	for _, tc := range []struct{ store, challenge string }{
		{"redis", "http-01"},
		{"postgres", "tls-alpn-01"},
	} {
		t.Run(tc.store+"/"+tc.challenge, func(t *testing.T) {
			url, prefix := clusterStores()[tc.store](t)
			lbHTTP, lbHTTPS := testsvc.StartLoadBalancer(t), testsvc.StartLoadBalancer(t)
			pebble := testsvc.StartPebble(t, testsvc.PebbleConfig{HTTPPort: lbHTTP.Port(), TLSPort: lbHTTPS.Port()})
			up := newUpstream(t)
			cfg := fmt.Sprintf(`
[listen]
https = "127.0.0.1:0"
http = "127.0.0.1:0"
admin = "off"

[tls.acme]
enabled = true
hosts = ["a.fleet.test", "b.fleet.test"]
directory_url = %q
directory_ca_file = %q
challenges = [%q]

[upstream]
url = %q

[hosts]
allowed = ["a.fleet.test", "b.fleet.test"]

[cluster]
store_env = "BULWARK_TEST_CLUSTER_STORE"
prefix = %q
`, pebble.DirectoryURL, pebble.CAFile, tc.challenge, up.URL, prefix)
			gws := startFleet(t, 3, cfg, "BULWARK_TEST_CLUSTER_STORE="+url)
			var https, http []string
			for _, g := range gws {
				https, http = append(https, g.HTTPS), append(http, g.HTTP)
			}
			lbHTTP.SetBackends(http...)
			lbHTTPS.SetBackends(https...)

			roots := pebble.Roots(t)
			deadline := time.Now().Add(90 * time.Second)
			for _, name := range names {
				var serial string
				for i, g := range gws {
					var cs tls.ConnectionState
					for {
						conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", g.HTTPS,
							&tls.Config{ServerName: name, RootCAs: roots})
						if err == nil {
							cs = conn.ConnectionState()
							conn.Close()
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("gateway %d serves no valid certificate for %s: %v\npebble:\n%s", i, name, err, pebble.Log())
						}
						time.Sleep(250 * time.Millisecond)
					}
					s := cs.PeerCertificates[0].SerialNumber.String()
					if serial == "" {
						serial = s
					} else if s != serial {
						t.Errorf("%s: gateway %d serves certificate %s, gateway 0 serves %s", name, i, s, serial)
					}
				}
			}
			if n := pebble.Orders(); n != len(names) {
				t.Errorf("pebble received %d orders for %d names, want one per name", n, len(names))
			}
			// The certificate fronts the app: a request through it
			// reaches the upstream with its host.
			client := fleetClientFor(gws[2].HTTPS, names[1], roots)
			res, err := client.Get("https://" + names[1] + "/through")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var e echoed
			if err := json.NewDecoder(res.Body).Decode(&e); err != nil || e.Host != names[1] || e.Path != "/through" {
				t.Fatalf("the app received %+v (%v)", e, err)
			}
		})
	}
}

func fleetClientFor(addr, name string, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: name},
		},
	}
}

// TestClusterStoreFrozen freezes the store two gateway processes share
// (SIGSTOP, a Redis or PostgreSQL of the test's own) for longer than a
// ticket poll: TLS keeps serving, sessions keep resuming across the
// gateways under the last keys, each gateway logs the failed sync, and
// after SIGCONT everything goes on without a restart.
func TestClusterStoreFrozen(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own servers and freezes them for seconds")
	}
	for name, startStore := range map[string]func(testing.TB) *testsvc.Server{
		"redis": testsvc.StartRedis, "postgres": testsvc.StartPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			srv := startStore(t)
			up := newUpstream(t)
			certFile, keyFile, pool := writeCert(t, t.TempDir())
			cfg := fleetTOML(certFile, keyFile, up.URL, "session_ticket_rotation = \"1m\"\n",
				"timeout = \"300ms\"\nticket_key_secret_env = \"BULWARK_TEST_TICKET_SECRET\"\n")
			gws := startFleet(t, 2, cfg, "BULWARK_TEST_CLUSTER_STORE="+srv.URL,
				"BULWARK_TEST_TICKET_SECRET="+strings.Repeat("frozen-fleet-", 4))
			cache := tls.NewLRUClientSessionCache(4)
			get := func(gw int, path string) bool {
				t.Helper()
				return fleetGet(t, gws, gw, pool, tls.VersionTLS13, cache, path)
			}
			get(0, "/before")
			if !get(1, "/before") {
				t.Fatal("no resumption across gateways before the freeze")
			}
			srv.Freeze()
			thawed := false
			defer func() {
				if !thawed {
					srv.Thaw()
				}
			}()
			// A poll comes every 7.5s with a 1m rotation: 9s covers one
			// on each gateway.
			end := time.Now().Add(9 * time.Second)
			for i := 0; time.Now().Before(end); i++ {
				if !get(i%2, "/frozen") {
					t.Fatalf("request %d during the freeze did not resume", i)
				}
				time.Sleep(500 * time.Millisecond)
			}
			for i, g := range gws {
				if !strings.Contains(g.logs.String(), "event=ticket_keys_unavailable") {
					t.Errorf("gateway %d logged no ticket_keys_unavailable during the freeze", i)
				}
			}
			srv.Thaw()
			thawed = true
			for i := range 4 {
				if !get(i%2, "/after") {
					t.Fatalf("request %d after the thaw did not resume", i)
				}
			}
		})
	}
}
