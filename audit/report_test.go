package audit_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the golden report files in testdata")

// goldenReport is a fixed report: every field set, findings out of
// severity order, a message with markup, a baselined finding.
func goldenReport() audit.Report {
	return audit.Report{
		URL:        "https://example.com/",
		Tool:       "bulwark v1.2.3",
		Start:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Duration:   1234567 * time.Microsecond,
		TLSVersion: "TLS 1.3",
		Families:   []audit.Family{audit.FamilyNginx, audit.FamilyDjango},
		Findings: []audit.Finding{
			{ID: "BW212", Severity: audit.Info, Key: "Cross-Origin-Opener-Policy", Message: "no Cross-Origin-Opener-Policy header", Fix: "add_header Cross-Origin-Opener-Policy same-origin always;"},
			{ID: "BW211", Severity: audit.Warning, Key: "Referrer-Policy", Message: `Referrer-Policy "<script>&" has no valid policy`, Fix: "add_header Referrer-Policy same-origin always;"},
			{ID: "BW205", Severity: audit.Error, Key: "Strict-Transport-Security", Message: "no Strict-Transport-Security header on https://example.com/", Fix: "SECURE_HSTS_SECONDS = 31536000"},
			{ID: "BW207", Severity: audit.Warning, Key: "Strict-Transport-Security", Message: "no includeSubDomains", Baselined: true},
		},
		Probes: []audit.Probe{
			{Kind: "http", Name: "https get", Method: "GET", URL: "https://example.com/", Status: 200},
			{Kind: "tls", Name: "tls version", URL: "tls://example.com:443", TLS: "TLS 1.0", Error: "remote error: tls: protocol version not supported"},
		},
	}
}

// TestJSONGolden pins the JSON format documented in docs/scan-json.md.
func TestJSONGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"scan.golden.json", func(b *bytes.Buffer) error { return goldenReport().WriteJSON(b) }},
		{"check.golden.json", func(b *bytes.Buffer) error {
			return audit.CheckReport{Tool: "bulwark v1.2.3", Config: "bulwark.toml", Findings: goldenReport().Findings[:2]}.WriteJSON(b)
		}},
		{"scan.golden.sarif", func(b *bytes.Buffer) error { return goldenReport().WriteSARIF(b) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("testdata", tc.file)
		if *updateGolden {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b.Bytes(), want) {
			t.Errorf("%s differs (go test ./audit -run TestJSONGolden -update-golden):\n%s", path, b.String())
		}
	}
}

// The JSON report's contract: a version, seconds, severity order,
// readable markup, summary counts that leave baselined findings apart.
func TestJSONContract(t *testing.T) {
	var b bytes.Buffer
	if err := goldenReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `\u003c`) || !strings.Contains(b.String(), `<script>&`) {
		t.Error("markup in messages is escaped")
	}
	var got struct {
		Version  int     `json:"version"`
		Kind     string  `json:"kind"`
		Duration float64 `json:"duration_seconds"`
		Summary  audit.Summary
		Findings []audit.Finding
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != audit.JSONVersion || got.Kind != "scan" || got.Duration != 1.235 {
		t.Errorf("version %d kind %q duration %v", got.Version, got.Kind, got.Duration)
	}
	for i := 1; i < len(got.Findings); i++ {
		if got.Findings[i].Severity > got.Findings[i-1].Severity {
			t.Errorf("findings not ordered by severity: %v", got.Findings)
		}
	}
	want := audit.Summary{Error: 1, Warning: 1, Info: 1, Baselined: 1, Requests: 1, Handshakes: 1}
	if got.Summary != want {
		t.Errorf("summary %+v, want %+v", got.Summary, want)
	}
	if m, _ := audit.Max(goldenReport().Findings[3:]); m != audit.Info {
		t.Errorf("Max counts a baselined finding")
	}
}

// TestJSONDocumented checks that docs/scan-json.md names every field of
// the golden reports.
func TestJSONDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "scan-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !strings.Contains(string(doc), "`"+k+"`") {
					t.Errorf("docs/scan-json.md does not document %s%s", prefix, k)
				}
				walk(prefix+k+".", x)
			}
		case []any:
			for _, x := range v {
				walk(prefix, x)
			}
		}
	}
	for _, f := range []string{"scan.golden.json", "check.golden.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		walk("", v)
	}
}

// TestJSONSchema validates the golden reports, a real scan's report and a
// real check's report against docs/scan-json.schema.json, the
// machine-readable form of docs/scan-json.md.
func TestJSONSchema(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "docs", "scan-json.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("scan-json.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("scan-json.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(name string, b []byte) {
		t.Helper()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not match the schema: %v", name, err)
		}
	}
	for _, name := range []string{"scan.golden.json", "check.golden.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		validate(name, b)
	}
	var b bytes.Buffer
	if err := scan(t, bareSite(t), audit.ScanOptions{}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	validate("a scan of the bare site", b.Bytes())
	b.Reset()
	if err := (audit.CheckReport{Config: "x.toml", Findings: audit.Check(bulwark.Config{})}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	validate("a check of the zero configuration", b.Bytes())
	// The schema is not vacuous: a finding without an ID fails it.
	check := func(b []byte) error {
		inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		return sch.Validate(inst)
	}
	if check([]byte(`{"version":1,"kind":"check","tool":"","config":"x","summary":{"error":0,"warning":0,"info":0,"baselined":0,"requests":0,"handshakes":0},"findings":[{"severity":"error","message":"m"}]}`)) == nil {
		t.Error("a finding without an id passed the schema")
	}
}
