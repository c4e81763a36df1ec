package audit_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

var (
	sarifOnce   sync.Once
	sarifSchema *jsonschema.Schema
	sarifErr    error
)

// validateSARIF checks a SARIF log against the OASIS SARIF 2.1.0 schema
// vendored in testdata.
func validateSARIF(t *testing.T, b []byte) {
	t.Helper()
	sarifOnce.Do(func() {
		f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
		if err != nil {
			sarifErr = err
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			sarifErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
			sarifErr = err
			return
		}
		sarifSchema, sarifErr = c.Compile("sarif-schema-2.1.0.json")
	})
	if sarifErr != nil {
		t.Fatal(sarifErr)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("SARIF is not JSON: %v", err)
	}
	if err := sarifSchema.Validate(inst); err != nil {
		t.Errorf("SARIF does not match the 2.1.0 schema: %v\n%s", err, b)
	}
}

// The schema is strict enough to catch a broken log: the test of the
// validator itself.
func TestSARIFSchemaRejects(t *testing.T) {
	var b bytes.Buffer
	if err := goldenReport().WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes())
	var log map[string]any
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	run := log["runs"].([]any)[0].(map[string]any)
	run["results"].([]any)[0].(map[string]any)["level"] = "fatal"
	bad, _ := json.Marshal(log)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err := sarifSchema.Validate(inst); err == nil {
		t.Error("a result with level \"fatal\" passed the schema")
	}
}

func TestSARIFCheckReport(t *testing.T) {
	var b bytes.Buffer
	rep := goldenReport()
	if err := rep.WriteSARIF(&b); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, b.Bytes())
	var log struct {
		Runs []struct {
			Results []struct {
				RuleID       string
				Suppressions []struct{ Kind string }
			}
		}
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if n := len(log.Runs[0].Results); n != len(rep.Findings) {
		t.Errorf("%d results for %d findings", n, len(rep.Findings))
	}
	suppressed := 0
	for _, r := range log.Runs[0].Results {
		suppressed += len(r.Suppressions)
	}
	if suppressed != 1 {
		t.Errorf("%d suppressions, want 1 (the baselined finding)", suppressed)
	}
}
