package audit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
)

// A site whose plain-HTTP listener redirects to its own port (the mistake
// behind a port mapping): the target answers no TLS, BW260.
func TestScanRedirectTargetWithoutTLS(t *testing.T) {
	s := startSite(t, 0, func(int) http.Handler { return http.NotFoundHandler() })
	plainPort := strconv.Itoa(s.plain.Listener.Addr().(*net.TCPAddr).Port)
	loop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1:"+plainPort+r.URL.Path, http.StatusMovedPermanently)
	})
	s.plain.Config.Handler = loop

	rep, err := audit.Scan(context.Background(), s.plain.URL+"/", audit.ScanOptions{RootCAs: s.pool})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(rep.Findings); !slices.Contains(got, "BW260") {
		t.Errorf("from plain HTTP: findings %v, want BW260", got)
	}

	rep = scan(t, s, audit.ScanOptions{})
	if got := ids(rep.Findings); !slices.Contains(got, "BW260") {
		t.Errorf("from HTTPS: findings %v, want BW260", got)
	}
}

// A redirect to the HTTPS port: no BW260.
func TestScanRedirectTargetWithTLS(t *testing.T) {
	rep := scan(t, hardenedSite(t), audit.ScanOptions{})
	if got := ids(rep.Findings); slices.Contains(got, "BW260") {
		t.Errorf("findings %v, want no BW260", got)
	}
}

func TestCheckRedirectPort(t *testing.T) {
	for _, tc := range []struct {
		name        string
		http, https string
		port        int
		want        string
	}{
		{"to the https listener", ":8080", ":8443", 8443, ""},
		{"to the http listener", ":8080", ":8443", 8080, "BW115"},
		{"to a public port", ":8080", ":8443", 443, "BW120"},
		{"http off", "off", ":8443", 8080, ""},
		{"unknown", ":8080", ":8443", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d audit.Deployment
			d.Config.Hosts.Allowed = []string{"example.com"}
			d.Server = &audit.Server{HTTPAddr: tc.http, HTTPSAddr: tc.https, RedirectPort: tc.port}
			var got []string
			for _, id := range ids(audit.CheckDeployment(d)) {
				if id == "BW115" || id == "BW120" {
					got = append(got, id)
				}
			}
			switch {
			case tc.want == "" && len(got) > 0:
				t.Errorf("got %v, want none", got)
			case tc.want != "" && !slices.Equal(got, []string{tc.want}):
				t.Errorf("got %v, want [%s]", got, tc.want)
			}
		})
	}
}

// keyedError is a server error about one key, worded its own way.
type keyedError struct{ key, msg string }

func (e *keyedError) Error() string { return e.msg }
func (e *keyedError) Key() string   { return e.key }

// The server's own validation refuses what BW115 already says: one
// finding, matched by the key the error names, whatever its words (a
// message reworded, or wrapped, is still the same problem); an error
// without a key, or about another key, is its own BW101.
func TestCheckServerErrorReportedOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		err   error
		bw101 bool
	}{
		{"same key, reworded", &keyedError{"https.redirect_port", "gateway: the HTTP port cannot take the redirect"}, false},
		{"same key, wrapped", fmt.Errorf("config.toml: %w", &keyedError{"https.redirect_port", "loop"}), false},
		{"another key", &keyedError{"listen.http", "https.redirect_port 8080 is the port of listen.http \":8080\""}, true},
		{"no key, the finding's words", errors.New(`https.redirect_port 8080 is the port of listen.http ":8080"`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d audit.Deployment
			d.Config.Hosts.Allowed = []string{"example.com"}
			d.Server = &audit.Server{HTTPAddr: ":8080", HTTPSAddr: ":8443", RedirectPort: 8080,
				Validate: func() error { return tc.err }}
			got := ids(audit.CheckDeployment(d))
			if !slices.Contains(got, "BW115") {
				t.Fatalf("findings %v, want BW115", got)
			}
			if slices.Contains(got, "BW101") != tc.bw101 {
				t.Errorf("findings %v: BW101 %v, want %v", got, !tc.bw101, tc.bw101)
			}
		})
	}
}

func TestCheckHealthLive(t *testing.T) {
	for _, live := range []bool{false, true} {
		var d audit.Deployment
		d.Config.Hosts.Allowed = []string{"example.com"}
		d.Server = &audit.Server{HealthPublicLive: live}
		if got := slices.Contains(ids(audit.CheckDeployment(d)), "BW121"); got != live {
			t.Errorf("live %v: BW121 reported %v", live, got)
		}
	}
}
