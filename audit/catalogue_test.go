package audit_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
)

var update = flag.Bool("update", false, "rewrite docs/checks.md from the catalogue")

var (
	idRE     = regexp.MustCompile(`^BW[0-2][0-9][0-9]$`)
	djangoRE = regexp.MustCompile(`^security\.[WE][0-9]{3}$`)
	// productKey matches a dotted snake_case setting (https.hsts_max_age),
	// an underscore key, a TOML section or an all-caps Django setting.
	// bulwarkKey matches Bulwark's configuration keys in a fix text.
	bulwarkKey = regexp.MustCompile(`\b(https|headers|hosts|proxy|session|csrf|edge|media|limits|upload)\.[a-z_]+|\[(headers|media)[a-z.]*\]`)
	productKey = regexp.MustCompile(`[a-z]+\.[a-z]+_[a-z_]+|\b[a-z]+_[a-z_]+\b|\[[a-z.]+\]|\b[A-Z]+_[A-Z_]+\b`)
)

func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	rules := audit.Rules()
	if len(rules) == 0 {
		t.Fatal("empty catalogue")
	}
	for _, r := range rules {
		if !idRE.MatchString(r.ID) {
			t.Errorf("%s: malformed ID", r.ID)
		}
		if seen[r.ID] {
			t.Errorf("%s: duplicate ID", r.ID)
		}
		seen[r.ID] = true
		if r.Django != "" && !djangoRE.MatchString(r.Django) {
			t.Errorf("%s: malformed Django ID %q", r.ID, r.Django)
		}
		if r.Title == "" || r.Fix == "" || r.Key == "" {
			t.Errorf("%s: title, fix and key are required", r.ID)
		}
		block := map[audit.Scope]byte{audit.ScopeConfig: '0', audit.ScopeServer: '1', audit.ScopeScan: '2'}[r.Scope]
		if r.ID[2] != block {
			t.Errorf("%s: scope %q is numbered in the wrong block", r.ID, r.Scope)
		}
		// A generic scan fix names no product's settings: a site whose
		// family is unknown must not be told about Bulwark's keys.
		if r.Scope == audit.ScopeScan && productKey.MatchString(r.Fix) {
			t.Errorf("%s: generic fix %q names a setting; move it to Fixes", r.ID, r.Fix)
		}
		if got, ok := audit.Lookup(r.ID); !ok || got != r {
			t.Errorf("Lookup(%s) = %v, %v", r.ID, got, ok)
		}
	}
}

// markdown renders the catalogue for docs/checks.md.
func markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Bulwark checks\n\n")
	b.WriteString("Generated from the catalogue in package audit (`go test ./audit -run TestChecksDoc -update`).\n")
	b.WriteString("`bulwark check` reports the configuration (BW0xx) and server (BW1xx) rules, `bulwark scan` the scan rules (BW2xx).\n")
	b.WriteString("The Django column names the `check --deploy` counterpart.\n")
	b.WriteString("A scan's fix text is chosen for the server family it saw (the `Server` header, cookie names): the family's text below when there is one, else the generic one.\n")
	for _, s := range []struct {
		scope audit.Scope
		title string
	}{{audit.ScopeConfig, "Configuration"}, {audit.ScopeServer, "Server (`bulwark check --gateway`)"}, {audit.ScopeScan, "Scan (`bulwark scan`)"}} {
		fmt.Fprintf(&b, "\n## %s\n\n| ID | severity | Django | key | condition | fix |\n| --- | --- | --- | --- | --- | --- |\n", s.title)
		for _, r := range audit.Rules() {
			if r.Scope != s.scope {
				continue
			}
			esc := func(x string) string { return strings.ReplaceAll(x, "|", `\|`) }
			fix := esc(r.Fix)
			for _, fam := range []audit.Family{audit.FamilyBulwark, audit.FamilyNginx, audit.FamilyCaddy, audit.FamilyDjango} {
				if t := r.Fixes.For(fam); t != "" {
					fix += "<br>**" + string(fam) + "**: `" + strings.ReplaceAll(esc(t), "`", "'") + "`"
				}
			}
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s | %s |\n", r.ID, r.Severity, r.Django, esc(r.Key), esc(r.Title), fix)
		}
	}
	b.WriteString("\n## Scan probes\n\nWhat `bulwark scan` sends, in order, and the rules each probe can report. Only the scanned host is contacted (and the `--media` URLs).\n\n| # | probe | sends | rules |\n| --- | --- | --- | --- |\n")
	for _, p := range audit.ScanProbes() {
		fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", p.N, p.Name, strings.ReplaceAll(p.Sends, "|", `\|`), strings.Join(p.Rules, ", "))
	}
	return b.Bytes()
}

// Every scan rule is reported by a documented probe, and every probe
// names rules of the catalogue.
func TestScanProbesCoverRules(t *testing.T) {
	covered := map[string]bool{}
	for i, p := range audit.ScanProbes() {
		if p.N != i+1 {
			t.Errorf("probe %q is numbered %d, want %d", p.Name, p.N, i+1)
		}
		for _, id := range p.Rules {
			if r, ok := audit.Lookup(id); !ok || r.Scope != audit.ScopeScan {
				t.Errorf("probe %q names %s, no scan rule", p.Name, id)
			}
			covered[id] = true
		}
	}
	for _, r := range audit.Rules() {
		if r.Scope == audit.ScopeScan && !covered[r.ID] {
			t.Errorf("%s is reported by no documented probe", r.ID)
		}
	}
}

// TestChecksDoc keeps docs/checks.md in sync with the catalogue.
func TestChecksDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "checks.md")
	want := markdown()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./audit -run TestChecksDoc -update", path)
	}
}
