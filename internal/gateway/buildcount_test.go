package gateway_test

import (
	"bytes"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/buildcount"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// TestOneChainBuildPerStartAndReload: validating the configuration,
// filling its defaults and printing it build no chain; a start builds the
// library chain once, and so does a reload. A reload that fails
// validation builds none.
func TestOneChainBuildPerStartAndReload(t *testing.T) {
	before := buildcount.Chains.Load()
	e := start(t, nil, func(c *gateway.Config) { c.Uploads.Paths = []string{"/upload/"} })
	if n := buildcount.Chains.Load() - before; n != 1 {
		t.Fatalf("start built %d chains, want 1", n)
	}

	before = buildcount.Chains.Load()
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.cfg.EncodeEffective(&buf); err != nil {
		t.Fatal(err)
	}
	if n := buildcount.Chains.Load() - before; n != 0 {
		t.Fatalf("Validate and EncodeEffective built %d chains, want 0", n)
	}

	if err := e.g.Reload(e.cfg); err != nil {
		t.Fatal(err)
	}
	if n := buildcount.Chains.Load() - before; n != 1 {
		t.Fatalf("reload built %d chains, want 1", n)
	}
	bad := e.cfg
	bad.Limits.MaxFields = -5
	if err := e.g.Reload(bad); err == nil {
		t.Fatal("reload accepted max_fields = -5")
	}
	if n := buildcount.Chains.Load() - before; n != 1 {
		t.Fatalf("a refused reload built a chain (%d in all)", n)
	}
}
