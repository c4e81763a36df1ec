package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// tomlBlock finds the TOML examples of a Markdown file.
var tomlBlock = regexp.MustCompile("(?s)```toml\n(.*?)```")

// gatewayFile reports whether a configuration has sections only the
// gateway's configuration has.
func gatewayFile(b []byte) bool {
	return regexp.MustCompile(`(?m)^\[(listen|tls|upstream|timeouts|edge|access_log)[\].]`).Match(b)
}

// TestCheckExamplesClean runs "bulwark check --skip-files" on every TOML
// file in examples/ and every TOML block of the README: the project's own
// examples must pass a CI gate (no error), whatever files they name.
func TestCheckExamplesClean(t *testing.T) {
	type example struct {
		name string
		data []byte
	}
	var examples []example
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		examples = append(examples, example{filepath.Base(f), b})
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := tomlBlock.FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("no TOML block in the README")
	}
	for i, m := range blocks {
		examples = append(examples, example{fmt.Sprintf("README block %d", i+1), m[1]})
	}
	dir := t.TempDir()
	for i, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(ex.name, " ", "_")+".toml")
			if err := os.WriteFile(path, ex.data, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"check", "--skip-files", "--config", path}
			if gatewayFile(ex.data) {
				args = append(args, "--gateway")
			}
			var out, errb strings.Builder
			if code := run(args, &out, &errb); code != 0 {
				t.Errorf("example %d: exit %d\n%s%s", i, code, out.String(), errb.String())
			}
			if strings.Contains(out.String(), " error ") {
				t.Errorf("example %d has errors:\n%s", i, out.String())
			}
			// The same as SARIF, for code-scanning dashboards.
			out.Reset()
			if code := run(append(args, "--format", "sarif"), &out, &errb); code != 0 {
				t.Errorf("example %d: --format sarif: exit %d", i, code)
			}
			validateSARIF(t, []byte(out.String()))
		})
	}
}

// A library file with [session] keys and csrf.use_sessions is what a
// program whose store is set in Go ships: check notes it (BW041) and
// reports no error.
func TestCheckSessionKeysWithoutStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bulwark.toml")
	conf := "[hosts]\nallowed = [\"example.com\"]\n\n[session]\nidle_timeout = \"30m\"\n\n[session.cookie]\nsame_site = \"strict\"\n\n[csrf]\nuse_sessions = true\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := run([]string{"check", "--config", path}, &out, &errb)
	if code != 0 || strings.Contains(out.String(), "BW001") || !strings.Contains(out.String(), "BW041 info") {
		t.Errorf("exit %d, output:\n%s%s", code, out.String(), errb.String())
	}
	// An invalid session value is still an error.
	bad := strings.Replace(conf, `same_site = "strict"`, `same_site = "sideways"`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"check", "--config", path}, &out, &errb); code != 1 || !strings.Contains(out.String(), "BW001 error") {
		t.Errorf("invalid same_site: exit %d, output:\n%s", code, out.String())
	}
}
