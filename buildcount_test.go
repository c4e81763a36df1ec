package bulwark_test

import (
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/buildcount"
)

// TestValidateBuildsNothing: validating a configuration, or computing its
// effective form, builds no chain; New builds one.
func TestValidateBuildsNothing(t *testing.T) {
	c := fullConfig(t)
	before := buildcount.Chains.Load()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Effective(); err != nil {
		t.Fatal(err)
	}
	if n := buildcount.Chains.Load() - before; n != 0 {
		t.Fatalf("Validate and Effective built %d chains, want 0", n)
	}
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := buildcount.Chains.Load() - before; n != 1 {
		t.Fatalf("New built %d chains, want 1", n)
	}
	// An invalid configuration is refused before anything is built.
	c.Limits.MaxFields = -5
	if _, err := bulwark.New(c); err == nil {
		t.Fatal("New accepted max_fields = -5")
	}
	if n := buildcount.Chains.Load() - before; n != 1 {
		t.Fatalf("an invalid New built a chain (%d in all)", n)
	}
}
