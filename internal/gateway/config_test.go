package gateway_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

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
		{"csrf token settings refused", valid + "[csrf]\ncookie_name = \"tok\"\n", `unknown key "csrf.cookie_name" on line 8: a library setting the edge does not run`},
		{"sessions refused", valid + "[session]\nlifetime = \"1h\"\n", `unknown key "session" on line 7: a library setting the edge does not run`},
		{"upload storage refused", valid + "[uploads]\npaths = [\"/u/\"]\n[uploads.storage]\ndir = \"/tmp\"\n", `unknown key "uploads.storage" on line 9: a library setting`},
		{"upload reencode refused", valid + "[uploads]\npaths = [\"/u/\"]\nreencode = true\n", `unknown key "uploads.reencode"`},
		{"upload settings without paths", valid + "[uploads]\ntemp_dir = \"/tmp\"\n", "settings given but no paths"},
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
	if _, err := gateway.New(c, nil); !errors.Is(err, gateway.ErrConfig) {
		t.Errorf("New with hosts.allowed = [*]: %v, want ErrConfig", err)
	}
}

// TestSectionsTyped: the sections the edge shares with the library are
// the library's own types, so a key the library gains is accepted (with
// its default and validation) without an edit here; the edge's own
// [csrf] and [uploads] hold a subset of the library's keys, each with the
// library's type, and a library key they leave out is refused with a
// hint, also without an edit.
func TestSectionsTyped(t *testing.T) {
	lib := map[string]reflect.Type{}
	lt := reflect.TypeFor[bulwark.Config]()
	for i := 0; i < lt.NumField(); i++ {
		if tag, _, _ := strings.Cut(lt.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			lib[tag] = lt.Field(i).Type
		}
	}
	gt := reflect.TypeFor[gateway.Config]()
	for _, tag := range []string{"proxy", "hosts", "https", "headers", "limits", "media"} {
		f, ok := fieldByTag(gt, tag)
		if !ok || f.Type != lib[tag] {
			t.Errorf("[%s] is not the library's %v", tag, lib[tag])
		}
	}
	// The edge's subsets: every key is the library's, with its type.
	libKeys := func(t reflect.Type) map[string]reflect.Type {
		out := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous {
				for k, v := range tomlFields(f.Type) {
					out[k] = v
				}
				continue
			}
			if tag, _, _ := strings.Cut(f.Tag.Get("toml"), ","); tag != "" && tag != "-" {
				out[tag] = f.Type
			}
		}
		return out
	}
	for _, tc := range []struct {
		tag  string
		edge reflect.Type
	}{
		{"csrf", reflect.TypeFor[gateway.CSRFConfig]()},
		{"uploads", reflect.TypeFor[gateway.UploadsConfig]()},
	} {
		lk := libKeys(lib[tc.tag])
		for k, typ := range tomlFields(tc.edge) {
			if lk[k] != typ {
				t.Errorf("[%s] %s is not the library's key (library type %v, edge %v)", tc.tag, k, lk[k], typ)
			}
		}
	}
	// A library key the edge leaves out is refused with the hint.
	const valid = "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n"
	for _, doc := range []string{"[csrf]\nmax_form_bytes = 5\n", "[csrf]\nuse_sessions = true\n", "[session.cookie]\nname = \"x\"\n"} {
		if _, err := gateway.Parse([]byte(valid + doc)); err == nil || !strings.Contains(err.Error(), "a library setting the edge does not run") {
			t.Errorf("%q: %v", doc, err)
		}
	}
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if tg, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tg == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func tomlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		if tag, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ","); tag != "" && tag != "-" {
			out[tag] = t.Field(i).Type
		}
	}
	return out
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
