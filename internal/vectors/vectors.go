// Package vectors loads the behavioural test vectors transcribed from Django's
// own test suite, for the conformance tests of every package.
//
// The files live in testdata/django at the root of the module. When the
// environment variable BULWARK_DJANGO_VECTORS names a directory, each file
// found there is read instead of the repository's copy (same names, same
// format), so that vectors kept back from the repository can be replayed
// against the code.
//
// A vector that deliberately does not pass is listed, with the reason, in
// testdata/django/deviations.json:
//
//	{"hosts.json": {"some_vector_id": "why we differ"}}
//
// The deviations file is always read from the repository.
package vectors

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// EnvDir is the environment variable that overrides the vector directory.
const EnvDir = "BULWARK_DJANGO_VECTORS"

// RepoDir returns testdata/django at the root of the module.
func RepoDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("vectors: cannot locate source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "django")
}

// Dir returns the override directory ($BULWARK_DJANGO_VECTORS) when set,
// else the repository's testdata/django.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return RepoDir()
}

// Path returns where the named vector file is read from: the override
// directory when it is set and holds the file, else the repository's
// testdata/django. The override works file by file, so a directory holding
// only some files (or only the kept-back ones, such as csrf_referer.json)
// replaces just those.
func Path(name string) string {
	if d := os.Getenv(EnvDir); d != "" {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join(RepoDir(), name)
}

// Load reads the named vector file (for example "hosts.json") and decodes it
// into v. A missing, unreadable or empty file fails the test: conformance is
// never silently skipped.
func Load(t testing.TB, name string, v any) {
	t.Helper()
	if !LoadOptional(t, name, v) {
		t.Fatalf("vectors: %s: file is missing", Path(name))
	}
}

// LoadOptional is Load for files that need not exist (a kept-back file such
// as csrf_referer.json, which is only present in the override directory). It
// reports whether the file was found; a file that exists but is unreadable,
// empty or malformed still fails the test.
func LoadOptional(t testing.TB, name string, v any) bool {
	t.Helper()
	path := Path(name)
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return false
	}
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	if len(data) == 0 {
		t.Fatalf("vectors: %s is empty", path)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("vectors: %s: %v", path, err)
	}
	return true
}

// Deviations returns the documented deviations for one vector file: vector id
// to the reason Bulwark deliberately differs from Django.
func Deviations(t testing.TB, file string) map[string]string {
	t.Helper()
	path := filepath.Join(RepoDir(), "deviations.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	var all map[string]map[string]string
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatalf("vectors: %s: %v", path, err)
	}
	for id, why := range all[file] {
		if why == "" {
			t.Fatalf("vectors: deviation %s/%s has no reason", file, id)
		}
	}
	return all[file]
}

// Count fails the test when a vector file produced no vectors to run, so that
// an empty or misread file can never pass.
func Count(t testing.TB, file string, n int) {
	t.Helper()
	if n == 0 {
		t.Fatalf("vectors: %s: no vectors were run", file)
	}
}

// Check runs one vector as a subtest. check returns nil when Bulwark's
// behaviour matches the vector, or an error describing the difference.
// When the vector differs and its id is listed as a deviation for file, the
// difference is logged, not failed; when a listed deviation matches, the test
// fails so that the list stays true.
func Check(t *testing.T, file, id string, dev map[string]string, check func() error) {
	t.Helper()
	t.Run(id, func(t *testing.T) {
		t.Helper()
		err := check()
		reason, deviates := dev[id]
		switch {
		case err != nil && !deviates:
			t.Error(err)
		case err != nil && deviates:
			t.Logf("deliberate deviation from Django (%s): %v", reason, err)
		case err == nil && deviates:
			t.Errorf("listed in deviations.json (%s) but now matches Django: remove the entry", reason)
		}
	})
}

// Run runs a vector file of untyped vectors grouped in sections
// ({"sections": [{"name": ..., "vectors": [{...}, ...]}, ...]}). pick
// returns the check for one vector, or nil for a vector the harness does not
// replay; each check runs through Check under the vector's ID, with file's
// deviations, and the test fails when no vector ran (Count).
func Run(t *testing.T, file string, pick func(section string, v map[string]json.RawMessage) func() error) {
	t.Helper()
	var f struct {
		Sections []struct {
			Name    string                       `json:"name"`
			Vectors []map[string]json.RawMessage `json:"vectors"`
		} `json:"sections"`
	}
	Load(t, file, &f)
	dev := Deviations(t, file)
	n := 0
	for _, sec := range f.Sections {
		for _, v := range sec.Vectors {
			check := pick(sec.Name, v)
			if check == nil {
				continue
			}
			n++
			Check(t, file, ID(sec.Name, v), dev, check)
		}
	}
	Count(t, file, n)
}

// ID names a vector stably: its section, the last part of its "test" field
// ("derived" for vectors Django's suite does not name) and a hash of its
// canonical JSON, so that ids, and the deviations.json entries that use
// them, survive vectors being added around it, as in kept-back files.
func ID(section string, v map[string]json.RawMessage) string {
	canon := map[string]any{}
	for k, raw := range v {
		var x any
		json.Unmarshal(raw, &x)
		canon[k] = x
	}
	b, _ := json.Marshal(canon) // map keys sorted: canonical
	sum := sha256.Sum256(b)
	var test string
	json.Unmarshal(v["test"], &test)
	if strings.HasPrefix(test, "derived") {
		test = "derived"
	} else if i := strings.LastIndex(test, "::"); i >= 0 {
		test = test[i+2:]
	}
	test, _, _ = strings.Cut(test, " ")
	return section + "/" + test + "-" + hex.EncodeToString(sum[:4])
}
