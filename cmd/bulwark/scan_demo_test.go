package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanDemo scans the gateway of "bulwark demo" (the real gateway in
// front of the sample app) with "bulwark scan": no error, and no warning
// beyond the demo's deliberately short HSTS (BW206, BW207) and the
// framing net/http keeps open (BW243); the fix texts are Bulwark's.
func TestScanDemo(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	_, urls, banner := startDemoCommand(t, state)
	if urls["Site"] == "" || urls["HTTP"] == "" {
		t.Fatalf("banner lacks URLs:\n%s", banner)
	}
	var out, errb strings.Builder
	code := run([]string{"scan", urls["Site"], "--ca", filepath.Join(state, "ca.pem"), "--http-url", urls["HTTP"], "--format", "json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	var rep struct {
		Families []string `json:"server_families"`
		Findings []struct {
			ID, Severity, Message string
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"BW206": true, "BW207": true, "BW243": true}
	for _, f := range rep.Findings {
		if f.Severity != "info" && !allowed[f.ID] {
			t.Errorf("demo gateway: %s %s: %s", f.ID, f.Severity, f.Message)
		}
	}
	if strings.Join(rep.Families, ",") != "bulwark" {
		t.Errorf("families %v, want [bulwark]", rep.Families)
	}
}
