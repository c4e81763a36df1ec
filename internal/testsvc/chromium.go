package testsvc

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns chromedp allocator options for a headless Chromium that
// sends nothing off the machine: $BULWARK_CHROMIUM or Debian's
// /usr/bin/chromium, with --headless --no-sandbox --disable-gpu
// --no-first-run --disable-background-networking --disable-component-update
// --disable-sync, a fresh --user-data-dir, and host resolution limited to
// localhost and 127.0.0.1. extra options are appended. A missing browser
// skips t, or fails it when BULWARK_REQUIRE_SERVICES is set.
func Chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	t.Helper()
	path := os.Getenv("BULWARK_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		unavailable(t, "chromium ("+path+"; apt-get install -y chromium)", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		// Resolve nothing but loopback: the browser must not touch the network.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"),
	)
	return append(opts, extra...)
}
