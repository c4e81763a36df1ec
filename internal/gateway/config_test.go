package gateway_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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
	if c, err := gateway.Parse([]byte(valid)); err != nil {
		t.Fatalf("valid: %v", err)
	} else if r := c.WithDefaults().TLS.SessionTicketRotation; r != gateway.DefaultSessionTicketRotation {
		t.Errorf("default session ticket rotation %v, want %v", r, gateway.DefaultSessionTicketRotation)
	}
	if c, err := gateway.Parse([]byte(strings.Replace(valid, "[tls]\n", "[tls]\nsession_ticket_rotation = \"6h\"\n", 1))); err != nil {
		t.Errorf("session_ticket_rotation 6h: %v", err)
	} else if r := c.TLS.SessionTicketRotation; r != 6*time.Hour {
		t.Errorf("session_ticket_rotation = %v, want 6h", r)
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
		{"relative upload path", valid + "[uploads]\npaths = [\"upload\"]\n", "[uploads]"},
		{"old upload key names its new place", valid + "[edge]\nupload_paths = [\"/upload/\"]\n", `unknown key "edge.upload_paths" on line 8 (now uploads.paths)`},
		{"old upload section names its new place", valid + "[upload.policy]\nallow = [\"image/png\"]\n", `(now "uploads.policy`},
		{"csrf token settings refused", valid + "[csrf]\ncookie_name = \"tok\"\n", `unknown key "csrf.cookie_name" on line 8: [csrf] cookie_name is a library setting the gateway does not use: the edge checks no CSRF tokens`},
		{"sessions refused", valid + "[session]\nlifetime = \"1h\"\n", `unknown key "session" on line 7: [session] is a library section the gateway does not use: the gateway keeps no sessions`},
		{"upload storage refused", valid + "[uploads]\npaths = [\"/u/\"]\n[uploads.storage]\ndir = \"/tmp\"\n", `unknown key "uploads.storage" on line 9: [uploads.storage] is a library section the gateway does not use: the gateway forwards accepted uploads byte for byte and stores none`},
		{"upload reencode refused", valid + "[uploads]\npaths = [\"/u/\"]\nreencode = true\n", `unknown key "uploads.reencode" on line 9: [uploads] reencode is a library setting`},
		{"dotted library key refused", valid + "[csrf]\ntrusted_origins = []\nuse_sessions = true\n", `unknown key "csrf.use_sessions" on line 9: [csrf] use_sessions is a library setting`},
		{"csrf paths and no csrf", valid + "[edge]\ncsrf_paths = [\"/app/\"]\nallow_insecure_no_csrf = true\n", "csrf_paths has no effect"},
		{"relative csrf path", valid + "[edge]\ncsrf_paths = [\"app\"]\n", "edge.csrf_paths"},
		{"session ticket rotation too short", strings.Replace(valid, "[tls]\n", "[tls]\nsession_ticket_rotation = \"10s\"\n", 1), "tls.session_ticket_rotation 10s is outside 1m0s..168h0m0s"},
		{"session ticket rotation too long", strings.Replace(valid, "[tls]\n", "[tls]\nsession_ticket_rotation = \"200h\"\n", 1), "tls.session_ticket_rotation"},
		{"negative session ticket rotation", strings.Replace(valid, "[tls]\n", "[tls]\nsession_ticket_rotation = \"-1h\"\n", 1), "tls.session_ticket_rotation"},
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

// TestEncodeEffective: the printout holds what the edge runs (defaults
// filled in, the token layer off, uploads forwarded), leaves out what it
// does not have, and loads again.
func TestEncodeEffective(t *testing.T) {
	c, err := gateway.Load("../../examples/bulwark.toml")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.EncodeEffective(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"insecure_skip_tokens = true", "forward = true", `csrf_paths = ["/"]`, "max_fields = 1000"} {
		if !strings.Contains(out, want) {
			t.Errorf("printout lacks %q", want)
		}
	}
	for _, absent := range []string{"[session", "cookie_name", "header_name", "use_sessions", "reencode", "[uploads.storage"} {
		if strings.Contains(out, absent) {
			t.Errorf("printout has %q, which the edge does not have", absent)
		}
	}
	again, err := gateway.Parse([]byte(out))
	if err != nil {
		t.Fatalf("printout does not load: %v", err)
	}
	if !reflect.DeepEqual(again.WithDefaults(), c.WithDefaults()) {
		t.Errorf("printout loads as another configuration:\n%+v\n%+v", again.WithDefaults(), c.WithDefaults())
	}
}

func TestForwardingConfig(t *testing.T) {
	const base = `
[upstream]
url = "http://127.0.0.1:8000"
[tls]
cert_file = "c.pem"
key_file = "k.pem"
[forwarding]
`
	c, err := gateway.Parse([]byte(base + `strip_headers = ["Remote-User"]
allow_underscore_headers = ["X_Legacy_Token"]
public_ports = [443, 8443]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := gateway.ForwardingConfig{StripHeaders: []string{"Remote-User"}, AllowUnderscoreHeaders: []string{"X_Legacy_Token"}, PublicPorts: []int{443, 8443}}
	if !reflect.DeepEqual(c.Forwarding, want) {
		t.Errorf("decoded %+v, want %+v", c.Forwarding, want)
	}
	for _, bad := range []string{
		`allow_underscore_headers = ["Script_Name"]`,
		`allow_underscore_headers = ["X_Forwarded_Proto"]`,
		`public_ports = [70000]`,
		`strip_headers = ["bad name"]`,
	} {
		if _, err := gateway.Parse([]byte(base + bad + "\n")); !errors.Is(err, gateway.ErrInvalidConfig) || !strings.Contains(err.Error(), "forwarding.") {
			t.Errorf("%s: error %v, want one naming forwarding.", bad, err)
		}
	}
}
