package archtest_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

const (
	recordPkg     = module + "/internal/reqstate"
	recordTestPkg = recordPkg + "/reqstatetest"
)

// use is one reference to a writer of the record.
type use struct {
	pkg, file, writer string
	pos               token.Position
}

// recordUses parses every Go file of the module under root and returns
// each reference to a writer of internal/reqstate (a call or a function
// value), and the files that import reqstatetest.
func recordUses(t *testing.T, root string) (uses []use, testImports []use) {
	t.Helper()
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		local := ""
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			switch p {
			case recordPkg:
				local = "reqstate"
				if im.Name != nil {
					local = im.Name.Name
				}
			case recordTestPkg:
				testImports = append(testImports, use{pkg: pkg, file: path, pos: fset.Position(im.Pos())})
			}
		}
		if local == "" {
			return nil
		}
		full, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == local {
				if _, writer := reqstate.Writers[sel.Sel.Name]; writer {
					uses = append(uses, use{pkg: pkg, file: path, writer: sel.Sel.Name, pos: fset.Position(sel.Pos())})
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses, testImports
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(wd, "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", wd, err)
	}
	return root
}

// TestRecordWrittenByOwnersOnly: no package writes another package's part
// of the per-request record. Each writer of internal/reqstate is used
// only in the package that owns its part (its tests included) and in
// reqstatetest, the test helper, which only tests import.
func TestRecordWrittenByOwnersOnly(t *testing.T) {
	uses, testImports := recordUses(t, moduleRoot(t))
	seen := map[string]bool{}
	for _, u := range uses {
		owner := reqstate.Writers[u.writer]
		switch u.pkg {
		case owner:
			seen[u.writer] = true
		case recordPkg, recordTestPkg:
		default:
			t.Errorf("%s: %s calls reqstate.%s, which only %s may call", u.pos, u.pkg, u.writer, owner)
		}
	}
	// The check must see the owners' own calls, or it is blind.
	for w := range reqstate.Writers {
		if !seen[w] {
			t.Errorf("no call of reqstate.%s found in its owner %s: the check is blind", w, reqstate.Writers[w])
		}
	}
	for _, u := range testImports {
		if !strings.HasSuffix(u.file, "_test.go") {
			t.Errorf("%s: %s imports reqstatetest outside a test", u.pos, u.pkg)
		}
	}
}

// TestRecordCheckCatches: the check flags a package that writes a part it
// does not own, under any import name.
func TestRecordCheckCatches(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+module+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "csrf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `package csrf

import rs "` + recordPkg + `"

func f(rec *rs.Record) { rs.SetValidatedHost(rec, "evil.example"); g := rs.SetCSRF; g(rec, nil) }
`
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	uses, _ := recordUses(t, root)
	var bad []string
	for _, u := range uses {
		if reqstate.Writers[u.writer] != u.pkg {
			bad = append(bad, u.writer)
		}
	}
	if len(uses) != 2 || len(bad) != 1 || bad[0] != "SetValidatedHost" {
		t.Errorf("uses %v, flagged %v: want SetValidatedHost flagged and SetCSRF (csrf's own) not", uses, bad)
	}
}
