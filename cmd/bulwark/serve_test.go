package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

func TestServeCheck(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--check", "--config", "../../examples/bulwark.toml"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"[listen]", `read_header = "5s"`, `admin = "127.0.0.1:9090"`, `allowed = ["example.com", "www.example.com"]`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("effective config lacks %q", want)
		}
	}
	// The printed configuration is itself a valid configuration.
	if _, err := gateway.Parse(out.Bytes()); err != nil {
		t.Errorf("printed config does not load: %v", err)
	}
}

func TestServeCheckInvalid(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad.toml")
	os.WriteFile(p, []byte("[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c\"\nkey_file = \"k\"\n[hosts]\nallowed_hosts = [\"x\"]\n"), 0o600)
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--check", "--config", p}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errb.String(), `unknown key "hosts.allowed_hosts" on line 7`) {
		t.Errorf("stderr %q does not name the key and line", errb.String())
	}
	if out.Len() != 0 {
		t.Errorf("stdout not empty on error: %q", out.String())
	}
}
