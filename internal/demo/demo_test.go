package demo_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/demo"
)

func mustStart(t *testing.T) *running {
	t.Helper()
	d, err := startDemo(t, "127.0.0.1:0", "127.0.0.1:0", 0)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func get(t *testing.T, c *http.Client, u string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var nonceAttr = regexp.MustCompile(`<style nonce="([^"]+)">`)

func TestDemoEdge(t *testing.T) {
	d := mustStart(t)
	c := d.client(t)
	site, _ := url.Parse(d.SiteURL)
	plain, _ := url.Parse(d.HTTPURL)

	t.Run("http redirects to https on the same host", func(t *testing.T) {
		resp, _ := get(t, c, d.HTTPURL+"guestbook?x=1")
		if resp.StatusCode != http.StatusMovedPermanently {
			t.Fatalf("status %d, want 301", resp.StatusCode)
		}
		if got, want := resp.Header.Get("Location"), "https://"+site.Host+"/guestbook?x=1"; got != want {
			t.Errorf("Location %q, want %q", got, want)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent over plain HTTP (RFC 6797 8.1: ignored, and a sign of confusion)")
		}
	})

	t.Run("redirect refuses a forged host", func(t *testing.T) {
		resp, body := get(t, c, d.HTTPURL, "Host", "evil.example:"+plain.Port())
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d Location %q, want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(body, "evil") {
			t.Error("response echoes the forged host")
		}
	})

	t.Run("https page headers", func(t *testing.T) {
		resp, body := get(t, c, d.SiteURL)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		h := resp.Header
		if got, want := h.Get("Strict-Transport-Security"), "max-age=300"; got != want {
			t.Errorf("HSTS %q, want %q (demo.DefaultHSTSMaxAge)", got, want)
		}
		for name, want := range map[string]string{
			"X-Content-Type-Options":       "nosniff",
			"X-Frame-Options":              "DENY",
			"Referrer-Policy":              "same-origin",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
		} {
			if got := h.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("%s: %q, want exactly %q", name, got, want)
			}
		}
		csp := h.Values("Content-Security-Policy")
		if len(csp) != 1 {
			t.Fatalf("Content-Security-Policy: %q, want one policy", csp)
		}
		m := nonceAttr.FindStringSubmatch(body)
		if m == nil {
			t.Fatal("page has no <style nonce>")
		}
		if !strings.Contains(csp[0], "style-src 'nonce-"+m[1]+"'") {
			t.Errorf("CSP %q does not allow the page's nonce %q", csp[0], m[1])
		}
		for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:", "http:"} {
			if strings.Contains(csp[0], bad) {
				t.Errorf("CSP %q contains %s", csp[0], bad)
			}
		}
		for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
			if !strings.Contains(csp[0], want) {
				t.Errorf("CSP %q lacks %s", csp[0], want)
			}
		}
		if strings.Contains(body, " style=") || strings.Contains(body, "<script") {
			t.Error("page has inline style attributes or scripts the CSP would block")
		}
		// A fresh nonce per response.
		_, body2 := get(t, c, d.SiteURL)
		if m2 := nonceAttr.FindStringSubmatch(body2); m2 == nil || m2[1] == m[1] {
			t.Error("nonce reused across responses")
		}
	})

	t.Run("unknown host refused at the edge", func(t *testing.T) {
		resp, body := get(t, c, d.SiteURL, "Host", "evil.example:"+site.Port())
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.StatusCode)
		}
		if strings.TrimSpace(body) != http.StatusText(http.StatusBadRequest) {
			t.Errorf("body %q, want the status text only", body)
		}
	})

	t.Run("app is loopback only and behind the gateway", func(t *testing.T) {
		app, _ := url.Parse(d.AppURL)
		if app.Hostname() != "127.0.0.1" {
			t.Errorf("app listens on %s, want 127.0.0.1", app.Host)
		}
		// Reached directly, the app refuses hosts it does not serve, and
		// it trusts X-Forwarded-* only from the gateway's address.
		resp, _ := get(t, c, d.AppURL, "Host", "evil.example")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("app with a forged host: status %d, want 400", resp.StatusCode)
		}
	})
}

func TestDemoHSTSOption(t *testing.T) {
	d, err := startDemo(t, "127.0.0.1:0", "127.0.0.1:0", 4380*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := get(t, d.client(t), d.SiteURL)
	if got, want := resp.Header.Get("Strict-Transport-Security"), "max-age=15768000"; got != want {
		t.Errorf("HSTS %q, want %q", got, want)
	}
	if d.HSTSMaxAge != 4380*time.Hour {
		t.Errorf("Info.HSTSMaxAge = %v", d.HSTSMaxAge)
	}
}

func TestDemoRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0"} {
		_, err := startDemo(t, addr, "127.0.0.1:0", 0)
		if err == nil {
			t.Errorf("demo started with HTTP listener %q", addr)
		}
	}
	_ = demo.SiteHost
}
