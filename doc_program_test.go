package bulwark_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
)

// docBlocks returns the indented code blocks of a package doc comment
// (doc.go), each after the line that introduces it.
func docBlocks(t *testing.T, file string) map[string]string {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	var intro string
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			blocks[intro] = cur.String()
			cur.Reset()
		}
	}
	for _, line := range strings.Split(string(src), "\n") {
		if !strings.HasPrefix(line, "//") {
			flush()
			continue
		}
		text := strings.TrimPrefix(strings.TrimPrefix(line, "//"), " ")
		switch {
		case strings.HasPrefix(line, "//\t"):
			cur.WriteString(strings.TrimPrefix(line, "//\t"))
			cur.WriteByte('\n')
		case text == "" && cur.Len() > 0:
			cur.WriteByte('\n')
		default:
			flush()
			if text != "" {
				intro = text
			}
		}
	}
	flush()
	return blocks
}

// TestDocProgramCompiles builds the package doc's complete program, as a
// reader would paste it, against this module (through a build overlay:
// nothing is written to the tree), and loads its config.toml.
func TestDocProgramCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	blocks := docBlocks(t, "doc.go")
	prog, ok := blocks["A complete program:"]
	if !ok || !strings.Contains(prog, "func main()") {
		t.Fatalf("no complete program in doc.go (blocks: %q)", keys(blocks))
	}
	dir := t.TempDir()
	mainFile := filepath.Join(dir, "main.go")
	if err := os.WriteFile(mainFile, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(wd, "internal", "docprogram", "main.go"): mainFile,
	}})
	ov := filepath.Join(dir, "overlay.json")
	os.WriteFile(ov, overlay, 0o644)
	cmd := exec.Command("go", "build", "-overlay", ov, "-o", filepath.Join(dir, "prog"), "./internal/docprogram")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the doc's program does not compile: %v\n%s\n%s", err, out, prog)
	}

	var toml string
	for _, b := range blocks {
		if strings.HasPrefix(b, "[proxy]") {
			toml = b
		}
	}
	if toml == "" {
		t.Fatal("no config.toml block in doc.go")
	}
	media := t.TempDir()
	toml = strings.ReplaceAll(toml, `"/var/lib/app/media"`, `"`+media+`"`)
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte(toml), 0o644)
	if _, err := bulwark.LoadConfig(path); err != nil {
		t.Errorf("the doc's config.toml: %v", err)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
