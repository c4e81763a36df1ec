package demo_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// TestDemoInBrowser drives headless Chromium through the demo as a person
// would: sign in, sign the guestbook, upload an image, and see it shown
// from the media host. It checks what only a browser decides: the CSP
// lets the page's nonce'd style apply, the cross-site image from the media
// host loads (its CORP allows it, the page's img-src lists it), and the
// session cookie is invisible to scripts.
func TestDemoInBrowser(t *testing.T) {
	t.Parallel() // its own demo on free ports
	d := mustStart(t)

	// Trust the demo's certificate by its public key pin rather than
	// turning certificate checks off.
	pair, err := tls.LoadX509KeyPair(d.LeafFile, d.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	opts := testsvc.Chromium(t,
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	if err := chromedp.Do(bctx, chromedp.Navigate(d.SiteURL)); err != nil {
		t.Fatalf("open %s: %v", d.SiteURL, err)
	}
	// The inline <style> carries the nonce: the CSP lets it apply.
	width, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.body).maxWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width == "none" || width == "" {
		t.Errorf("page style not applied (max-width %q): the CSP blocked the nonce'd style", width)
	}

	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.ID("user"), d.User),
		chromedp.SendKeys(chromedp.ID("password"), d.Password),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form[action="/login"] button`)))); err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "Signed in as demo") {
		t.Fatalf("not signed in:\n%s", body)
	}
	// HttpOnly: scripts see the CSRF cookie (Django's AJAX recipe) but
	// never the session cookie.
	cookies, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cookies, "session") {
		t.Errorf("document.cookie exposes the session cookie: %q", cookies)
	}

	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`input[name="message"]`), "hello from Chromium")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form[action="/guestbook"] button`)))); err != nil {
		t.Fatal(err)
	}
	if body, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body"))); !strings.Contains(body, "hello from Chromium") {
		t.Errorf("guestbook post from the browser did not land:\n%s", body)
	}

	img := filepath.Join(t.TempDir(), "dot.png")
	if err := os.WriteFile(img, pngImage(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.SetUploadFiles(chromedp.CSS(`input[type="file"]`), []string{img})); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`form[action="/upload"] button`)))); err != nil {
		t.Fatal(err)
	}
	// The image comes from the media host, another site: it must load.
	var loaded string
	for range 50 {
		loaded, err = chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
			const i = document.querySelector("ul.files img");
			if (!i) return "missing";
			if (!i.complete) return "loading";
			return i.naturalWidth > 0 ? "ok " + i.src : "broken " + i.src;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if loaded != "loading" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(loaded, "ok "+d.MediaURL+"/") {
		t.Errorf("uploaded image: %s, want loaded from %s", loaded, d.MediaURL)
	}
}
