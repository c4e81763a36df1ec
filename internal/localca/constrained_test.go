package localca_test

import (
	"crypto/x509"
	"errors"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/localca"
)

// A CA for a staging host's names signs for them and nothing else, and a
// directory holding a CA for other names is refused.
func TestConstrainedCA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ca")
	c, err := localca.ConstraintsFor("staging.example.internal", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := localca.OpenConstrained(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("staging.example.internal", "192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"staging.example.internal", "192.0.2.10"} {
		if _, err := leaf.Certificate.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: ca.Pool()}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	for _, name := range []string{"example.com", "localhost", "127.0.0.1", "192.0.2.11", "*.example.internal", "internal"} {
		if _, err := ca.Issue(name); err == nil {
			t.Errorf("issued for %q", name)
		} else if name != "*.example.internal" && !errors.Is(err, localca.ErrNotPermitted) {
			t.Errorf("%q: %v, want ErrNotPermitted", name, err)
		}
	}
	// Below a constrained name is inside the constraint.
	if _, err := ca.Issue("api.staging.example.internal"); err != nil {
		t.Errorf("a name below the constraint: %v", err)
	}
	// Reopened with other names: refused, never reused.
	other, _ := localca.ConstraintsFor("other.example")
	if _, err := localca.OpenConstrained(dir, other); !errors.Is(err, localca.ErrForeignCA) {
		t.Errorf("reopened for other names: %v, want ErrForeignCA", err)
	}
	// The loopback CA's directory is not a staging one either.
	if _, err := localca.Open(dir); !errors.Is(err, localca.ErrForeignCA) {
		t.Errorf("opened as the loopback CA: %v, want ErrForeignCA", err)
	}
	if _, err := localca.ConstraintsFor("bad name"); err == nil {
		t.Error("an invalid name was accepted")
	}
}
