package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// codeBlocks returns the fenced blocks of a Markdown file in the given
// language, in order.
func codeBlocks(t *testing.T, file, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	rest := string(b)
	for {
		_, after, ok := strings.Cut(rest, "```"+lang+"\n")
		if !ok {
			return out
		}
		block, tail, _ := strings.Cut(after, "```")
		out = append(out, block)
		rest = tail
	}
}

// TestReadmeDjangoSettings runs the README's settings.py block with
// Debian's python3: it is valid Python and sets what it says.
func TestReadmeDjangoSettings(t *testing.T) {
	blocks := codeBlocks(t, "../../README.md", "python")
	if len(blocks) == 0 {
		t.Fatal("the README has no Python block")
	}
	python := "/usr/bin/python3"
	if _, err := exec.LookPath(python); err != nil {
		t.Skip("no python3")
	}
	for _, b := range blocks {
		check := b + "\nassert SECURE_PROXY_SSL_HEADER == ('HTTP_X_FORWARDED_PROTO', 'https')\n" +
			"assert all(o.startswith('https://') for o in CSRF_TRUSTED_ORIGINS)\nprint('ok')\n"
		out, err := exec.Command(python, "-c", check).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "ok" {
			t.Errorf("README settings.py: %v\n%s\n%s", err, out, b)
		}
	}
}

// TestComposeConfig keeps deploy/compose/bulwark.toml a valid gateway
// configuration, whose redirect names the published port.
func TestComposeConfig(t *testing.T) {
	b, err := os.ReadFile("../../deploy/compose/bulwark.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	doc := strings.ReplaceAll(string(b), `"/srv/media"`, `"`+dir+`"`)
	path := dir + "/bulwark.toml"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if code := run([]string{"serve", "--check", "--config", path}, &out, &errb); code != 0 {
		t.Fatalf("serve --check: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "redirect_port = 443") || !strings.Contains(errb.String(), "BW120") {
		t.Errorf("compose config: the redirect should name the published port 443 (and be noted):\n%s", errb.String())
	}
	compose, err := os.ReadFile("../../deploy/compose/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"443:8443"`, `"80:8080"`, "./bulwark.toml:/etc/bulwark/bulwark.toml:ro"} {
		if !strings.Contains(string(compose), want) {
			t.Errorf("compose.yaml lacks %s", want)
		}
	}
}

// TestDocsTOMLBlocks decodes every TOML block of the README and docs/
// strictly into the gateway's configuration (which holds the library's):
// a key the docs name exists, spelled as the loader wants it. Fragments
// are not validated as whole files (the README's full example is, by
// TestReadmeQuickstartConfig).
func TestDocsTOMLBlocks(t *testing.T) {
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	n := 0
	for _, f := range files {
		for i, b := range codeBlocks(t, f, "toml") {
			n++
			var c gateway.Config
			md, err := toml.Decode(b, &c)
			if err == nil && len(md.Undecoded()) > 0 {
				err = fmt.Errorf("unknown keys %v", md.Undecoded())
			}
			if err != nil {
				t.Errorf("%s, TOML block %d: %v\n%s", f, i+1, err, b)
			}
		}
	}
	if n == 0 {
		t.Fatal("no TOML blocks found")
	}
}
