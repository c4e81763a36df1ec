package vectors_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/vectors"
)

func TestPathOverrideIsPerFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hosts.json"), []byte(`{"sections":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(vectors.EnvDir, dir)

	if got, want := vectors.Path("hosts.json"), filepath.Join(dir, "hosts.json"); got != want {
		t.Errorf("Path(hosts.json) = %q, want the override %q", got, want)
	}
	if got, want := vectors.Path("csp.json"), filepath.Join(vectors.RepoDir(), "csp.json"); got != want {
		t.Errorf("Path(csp.json) = %q, want the repository copy %q", got, want)
	}
	var v struct{ Sections []any }
	vectors.Load(t, "hosts.json", &v)
	if v.Sections == nil {
		t.Error("Load did not read the override file")
	}
	if vectors.LoadOptional(t, "csrf_referer.json", &v) {
		if _, err := os.Stat(filepath.Join(vectors.RepoDir(), "csrf_referer.json")); err != nil {
			t.Error("LoadOptional found csrf_referer.json in neither directory")
		}
	}
}

func TestRepositoryFilesPresent(t *testing.T) {
	for _, name := range []string{
		"hosts.json", "security_middleware.json", "csp.json",
		"csrf_origin.json", "csrf_tokens.json",
		"signing.json", "cookies_sessions.json",
		"upload_filenames.json", "upload_limits.json",
		"deploy_checks.json", "deviations.json",
	} {
		fi, err := os.Stat(filepath.Join(vectors.RepoDir(), name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	const file = "run.json"
	data := `{"sections": [
		{"name": "one", "vectors": [{"test": "x.py::C.test_a", "n": 1}, {"test": "x.py::C.test_doc"}]},
		{"name": "two", "vectors": [{"test": "derived", "n": 2}]}
	]}`
	if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(vectors.EnvDir, dir)

	var ran []string
	vectors.Run(t, file, func(section string, v map[string]json.RawMessage) func() error {
		if _, ok := v["n"]; !ok {
			return nil // not replayed: no subtest, not counted
		}
		id := vectors.ID(section, v)
		return func() error {
			ran = append(ran, id)
			return nil
		}
	})
	want := []string{"one/C.test_a-", "two/derived-"}
	if len(ran) != len(want) {
		t.Fatalf("ran %q, want the %d vectors picked", ran, len(want))
	}
	for i, id := range ran {
		if !strings.HasPrefix(id, want[i]) {
			t.Errorf("vector %d ran as %q, want %s...", i, id, want[i])
		}
	}
}
