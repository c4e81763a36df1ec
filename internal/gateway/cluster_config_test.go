package gateway_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func TestClusterConfig(t *testing.T) {
	const base = `
[upstream]
url = "http://127.0.0.1:8000"
[tls]
cert_file = "c.pem"
key_file = "k.pem"
`
	for _, tc := range []struct {
		name, toml string
		err        string // "" means valid
	}{
		{"redis", `[cluster]
store = "redis://127.0.0.1:6379/0"`, ""},
		{"postgres from env", `[cluster]
store_env = "FLEET_DB"
prefix = "fleet_a"
timeout = "2s"
ticket_key_secret_env = "FLEET_TICKETS"`, ""},
		{"both", `[cluster]
store = "redis://127.0.0.1:6379"
store_env = "X"`, "set store or store_env, not both"},
		{"bad scheme", `[cluster]
store = "memcached://127.0.0.1:11211"`, `scheme "memcached"`},
		{"bad prefix", `[cluster]
store = "redis://127.0.0.1:6379"
prefix = "x; DROP TABLE y"`, "prefix"},
		{"long timeout", `[cluster]
store = "redis://127.0.0.1:6379"
timeout = "1m"`, "timeout"},
		{"secret without store", `[cluster]
ticket_key_secret_env = "X"`, "store (or store_env) is required"},
		{"unknown key", `[cluster]
store = "redis://127.0.0.1:6379"
ticket_secret = "inline"`, `unknown key "cluster.ticket_secret"`},
		{"old acme cache key", `[tls.acme]
cache_postgres_url = "env:X"`, "now [cluster] store_env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.Parse([]byte(base + tc.toml))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("valid configuration refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			case err != nil && !errors.Is(err, gateway.ErrInvalidConfig):
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
		})
	}
	c, err := gateway.Parse([]byte(base + "[cluster]\nstore = \"redis://127.0.0.1:6379\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if eff := c.WithDefaults().Cluster; eff.Timeout != time.Second || eff.Prefix != "bulwark" {
		t.Errorf("effective [cluster] = %+v, want timeout 1s and prefix bulwark", eff)
	}
}

// The effective configuration never prints the store's password.
func TestClusterEffectiveRedacts(t *testing.T) {
	var c gateway.Config
	c.Upstream.URL = "http://127.0.0.1:8000"
	c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem"
	c.Cluster.Store = "rediss://fleet:pw-5e1f@redis.internal:6380/0"
	var out bytes.Buffer
	if err := c.EncodeEffective(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "pw-5e1f") || !strings.Contains(out.String(), "redis.internal:6380") {
		t.Fatalf("effective configuration:\n%s", out.String())
	}
	if _, err := gateway.Parse(out.Bytes()); err != nil {
		t.Fatalf("the printout does not parse: %v", err)
	}
}

func TestClusterStartRefusals(t *testing.T) {
	var c gateway.Config
	c.Listen = gateway.ListenConfig{HTTPS: "127.0.0.1:0", HTTP: gateway.Off, Admin: gateway.Off}
	c.Upstream.URL = "http://127.0.0.1:8000"
	certFile, keyFile, _ := writeCert(t, t.TempDir())
	c.TLS.CertFile, c.TLS.KeyFile = certFile, keyFile
	for name, tc := range map[string]struct {
		env  map[string]string
		mut  func(*gateway.ClusterConfig)
		want string
	}{
		"empty store variable": {nil, func(cc *gateway.ClusterConfig) { cc.StoreEnv = "BULWARK_TEST_NO_SUCH_VAR" }, "is empty"},
		"short ticket secret": {map[string]string{"BULWARK_TEST_SHORT_SECRET": "short"},
			func(cc *gateway.ClusterConfig) {
				cc.Store = "redis://127.0.0.1:1"
				cc.TicketKeySecretEnv = "BULWARK_TEST_SHORT_SECRET"
			}, "at least 32"},
		"unreachable store": {nil, func(cc *gateway.ClusterConfig) {
			cc.Store = "redis://127.0.0.1:1"
			cc.Timeout = 200 * time.Millisecond
		}, "cluster store"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cc := c
			tc.mut(&cc.Cluster)
			g, err := gateway.New(cc, nil)
			if err == nil {
				g.Close()
				t.Fatal("gateway started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
