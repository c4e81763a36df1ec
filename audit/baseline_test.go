package audit_test

import (
	"bytes"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
)

func TestBaseline(t *testing.T) {
	fs := func() []audit.Finding {
		return []audit.Finding{
			{ID: "BW207", Severity: audit.Warning, Key: "Strict-Transport-Security"},
			{ID: "BW215", Severity: audit.Warning, Key: "Set-Cookie: theme"},
			{ID: "BW215", Severity: audit.Warning, Key: "Set-Cookie: sessionid"},
			{ID: "BW205", Severity: audit.Error, Key: "Strict-Transport-Security"},
		}
	}
	const site = "https://example.com/"
	tests := []struct {
		name   string
		file   string
		target string
		want   []bool // Baselined, per finding
	}{
		{"by id and target", `{"version":1,"accept":[{"id":"BW207","target":"https://example.com/"}]}`, site, []bool{true, false, false, false}},
		{"another target", `{"version":1,"accept":[{"id":"BW207","target":"https://other.example/"}]}`, site, []bool{false, false, false, false}},
		{"any target", `{"version":1,"accept":[{"id":"BW207","target":"*"}]}`, site, []bool{true, false, false, false}},
		{"by key", `{"version":1,"accept":[{"id":"BW215","target":"*","key":"Set-Cookie: theme","reason":"a display preference"}]}`, site, []bool{false, true, false, false}},
		{"every key", `{"version":1,"accept":[{"id":"BW215","target":"*"}]}`, site, []bool{false, true, true, false}},
		{"an earlier report", `{"version":1,"kind":"scan","url":"https://example.com/","findings":[{"id":"BW205","severity":"error","key":"Strict-Transport-Security","message":"old"}]}`, site, []bool{false, false, false, true}},
		{"an earlier report of another site", `{"version":1,"kind":"scan","url":"https://other.example/","findings":[{"id":"BW205","key":"Strict-Transport-Security"}]}`, site, []bool{false, false, false, false}},
		{"a check report", `{"version":1,"kind":"check","config":"bulwark.toml","findings":[{"id":"BW207","key":"Strict-Transport-Security"}]}`, "bulwark.toml", []bool{true, false, false, false}},
	}
	for _, tc := range tests {
		b, err := audit.ParseBaseline([]byte(tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := fs()
		n := b.Apply(tc.target, got)
		marked := 0
		for i, f := range got {
			if f.Baselined != tc.want[i] {
				t.Errorf("%s: finding %d (%s %s) baselined %v", tc.name, i, f.ID, f.Key, f.Baselined)
			}
			if f.Baselined {
				marked++
			}
		}
		if n != marked {
			t.Errorf("%s: Apply returned %d, marked %d", tc.name, n, marked)
		}
	}
	for _, bad := range []string{
		``, `[]`, `{"version":2,"accept":[]}`, `{"accept":[]}`,
		`{"version":1,"accept":[{"id":"BW207"}]}`,                       // no target
		`{"version":1,"accept":[{"id":"207","target":"*"}]}`,            // malformed id
		`{"version":1,"accept":[{"id":"BW207","targt":"*"}]}`,           // misspelt field
		`{"version":1,"kind":"report","findings":[]}`,                   // unknown kind
		`{"version":1,"kind":"scan","url":"x","findings":[{"id":"x"}]}`, // malformed id in a report
	} {
		if _, err := audit.ParseBaseline([]byte(bad)); err == nil {
			t.Errorf("ParseBaseline(%q): no error", bad)
		}
	}
	var nilBase *audit.Baseline
	if n := nilBase.Apply(site, fs()); n != 0 {
		t.Errorf("nil baseline accepted %d", n)
	}
}

// A scan report written as JSON accepts, as a baseline, exactly the
// findings it holds.
func TestBaselineFromReport(t *testing.T) {
	rep := goldenReport()
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	base, err := audit.ParseBaseline(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	fs := append([]audit.Finding{}, rep.Findings...)
	fs = append(fs, audit.Finding{ID: "BW209", Severity: audit.Warning, Key: "X-Content-Type-Options"})
	base.Apply(rep.URL, fs)
	if m, ok := audit.Max(fs); !ok || m != audit.Warning || !fs[0].Baselined || fs[len(fs)-1].Baselined {
		t.Errorf("after the baseline: %+v", fs)
	}
}

// FuzzParseBaseline: a baseline file is read from a repository, so any
// bytes must either be refused or give entries that accept only what
// they name. Property: no panic, and Apply never marks a finding whose ID
// no entry names.
func FuzzParseBaseline(f *testing.F) {
	seeds := []string{
		`{"version":1,"accept":[{"id":"BW207","target":"*"}]}`,
		`{"version":1,"kind":"scan","url":"https://a/","findings":[{"id":"BW205","key":"k"}]}`,
		`{"version":1,"kind":"check","config":"c","findings":[]}`,
		`{"version":1,"accept":[{"id":"BW207","target":"t","key":"k","reason":"r"}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := audit.ParseBaseline(data)
		if err != nil {
			return
		}
		named := map[string]bool{}
		for _, e := range b.Entries() {
			named[e.ID] = true
		}
		fs := []audit.Finding{{ID: "BW205", Key: "k"}, {ID: "BW207", Key: "k"}, {ID: "BW999"}}
		b.Apply("https://a/", fs)
		b.Apply("t", fs)
		for _, x := range fs {
			if x.Baselined && !named[x.ID] {
				t.Errorf("%s accepted by %q", x.ID, data)
			}
		}
	})
}
