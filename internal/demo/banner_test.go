package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/localca"
)

// TestBannerChromiumTrustLine runs the banner's certutil line as a user
// would paste it, in a home directory where Chromium never ran (no
// ~/.pki/nssdb), then again: the CA ends up in the NSS database.
func TestBannerChromiumTrustLine(t *testing.T) {
	certutil, err := exec.LookPath("certutil")
	if err != nil {
		if os.Getenv("BULWARK_REQUIRE_SERVICES") != "" {
			t.Fatalf("certutil (libnss3-tools) not installed: %v", err)
		}
		t.Skip("certutil (libnss3-tools) not installed")
	}
	ca, err := localca.Open(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printBanner(&b, Info{CAFile: ca.CertFile(), SiteURL: "https://localhost:8443"}, true)
	var line string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, "certutil -d") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatalf("no certutil line in the banner:\n%s", b.String())
	}
	home := t.TempDir()
	for i := 0; i < 2; i++ {
		cmd := exec.Command("sh", "-c", line)
		cmd.Env = []string{"HOME=" + home, "PATH=" + filepath.Dir(certutil) + ":/usr/bin:/bin"}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("run %d: %q: %v\n%s", i+1, line, err, out)
		}
	}
	out, err := exec.Command(certutil, "-d", "sql:"+filepath.Join(home, ".pki", "nssdb"), "-L").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bulwark-demo") {
		t.Errorf("the CA is not in the database: %v\n%s", err, out)
	}
}
