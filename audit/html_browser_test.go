package audit_test

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/chromedp/chromedp"
)

// TestReportHTMLInBrowser renders the HTML report in headless Chromium:
// the findings are grouped by severity, the most severe first, baselined
// ones apart; markup a site put in a header value stays text; and the
// page is screenshotted (to $BULWARK_REPORT_SCREENSHOT when set, for a
// look).
func TestReportHTMLInBrowser(t *testing.T) {
	opts := testsvc.Chromium(t)
	rep := goldenReport()
	rep.Findings = append(rep.Findings, audit.Finding{
		ID: "BW211", Severity: audit.Warning, Key: "Referrer-Policy",
		Message: `Referrer-Policy "<img src=x onerror=window.pwned=1>" has no valid policy`,
	})
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page.Bytes())
	}))
	defer srv.Close()

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(opts, chromedp.WindowSize(1280, 1000))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	headings, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("h2")].map(h => h.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === 1`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"error (1)", "warning (2)", "info (1)", "Accepted by the baseline (1)", "Requests and handshakes sent"}
	if strings.Join(headings, "|") != strings.Join(want, "|") {
		t.Errorf("headings %q, want %q", headings, want)
	}
	if pwned {
		t.Error("markup from a finding ran in the report")
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 400 {
		t.Errorf("screenshot is %v", b)
	}
	if p := os.Getenv("BULWARK_REPORT_SCREENSHOT"); p != "" {
		if err := os.WriteFile(p, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
