package gateway_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func TestExampleConfigLoads(t *testing.T) {
	c, err := gateway.Load("../../examples/bulwark.toml")
	if err != nil {
		t.Fatalf("examples/bulwark.toml: %v", err)
	}
	if c.Upstream.URL != "http://127.0.0.1:8000" || len(c.Hosts.Allowed) != 2 || c.Limits.MaxBodyBytes != 10<<20 {
		t.Errorf("example decoded wrongly: %+v", c)
	}
}

func TestParseStrict(t *testing.T) {
	const valid = `
[upstream]
url = "http://127.0.0.1:8000"
[tls]
cert_file = "c.pem"
key_file = "k.pem"
`
	if _, err := gateway.Parse([]byte(valid)); err != nil {
		t.Fatalf("valid: %v", err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown key names key and line", valid + "[hosts]\nalowed = [\"x\"]\n", `unknown key "hosts.alowed" on line 8`},
		{"unknown section", valid + "\n[hsts]\nmax_age = 1\n", `unknown key "hsts" on line 8`},
		{"syntax error has line", valid + "url = \n", "line 7"},
		{"bad duration", valid + "[timeouts]\nread = \"soon\"\n", `line 8: key "timeouts.read"`},
		{"public admin", valid + "[listen]\nadmin = \"0.0.0.0:9090\"\n", "not a loopback address"},
		{"empty-host admin", valid + "[listen]\nadmin = \":9090\"\n", "not a loopback address"},
		{"upstream with credentials", strings.Replace(valid, "127.0.0.1", "u:p@127.0.0.1", 1), "upstream.url"},
		{"no certificate", "[upstream]\nurl = \"http://127.0.0.1:8000\"\n", "tls"},
		{"library section checked", valid + "[hosts]\nallowed = [\"*\"]\n", "[hosts]"},
		{"csrf section checked", valid + "[csrf]\ntrusted_origins = [\"not an origin\"]\n", "[csrf]"},
		{"relative upload path", valid + "[edge]\nupload_paths = [\"upload\"]\n", "upload_paths"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := gateway.Parse([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The insecure option allows a public admin listener.
	doc := valid + "[listen]\nadmin = \"0.0.0.0:9090\"\nallow_insecure_admin_address = true\n"
	if _, err := gateway.Parse([]byte(doc)); err != nil {
		t.Errorf("allow_insecure_admin_address: %v", err)
	}
}

func TestNewRejectsLibraryConfigErrors(t *testing.T) {
	var c gateway.Config
	c.Upstream.URL = "http://127.0.0.1:8000"
	c.TLS.CertFile, c.TLS.KeyFile = "/nonexistent/c.pem", "/nonexistent/k.pem"
	if _, err := gateway.New(c, nil); err == nil {
		t.Errorf("New with missing certificate files succeeded")
	}
	c.TLS = gateway.TLSConfig{GetCertificate: nil}
	c.TLS.CertFile, c.TLS.KeyFile = "", ""
	dir := t.TempDir()
	c.TLS.CertFile, c.TLS.KeyFile, _ = writeCert(t, dir)
	c.Hosts.Allowed = []string{"*"} // needs allow_insecure_any_host
	if _, err := gateway.New(c, nil); !errors.Is(err, gateway.ErrInvalidConfig) {
		t.Errorf("New with hosts.allowed = [*]: %v, want ErrInvalidConfig", err)
	}
}

// TestLibrarySectionsNotShadowed fails when bulwark.Config gains a section
// that gateway.Config also defines itself: the gateway's field would hide
// the library's in the TOML file while bulwark.New built the library's
// layer from its zero value. The gateway must then use the library's
// section instead of its own.
func TestLibrarySectionsNotShadowed(t *testing.T) {
	lib := map[string]bool{}
	lt := reflect.TypeFor[bulwark.Config]()
	for i := 0; i < lt.NumField(); i++ {
		if tag, _, _ := strings.Cut(lt.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			lib[tag] = true
		}
	}
	gt := reflect.TypeFor[gateway.Config]()
	for i := 0; i < gt.NumField(); i++ {
		f := gt.Field(i)
		if f.Anonymous {
			continue
		}
		if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); lib[tag] {
			t.Errorf("gateway.Config.%s ([%s]) shadows the library section of the same name", f.Name, tag)
		}
	}
}
