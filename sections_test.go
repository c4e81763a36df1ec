package bulwark_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

func siteConfig() bulwark.Config {
	return bulwark.Config{Logger: quiet, Hosts: hosts.Config{Allowed: []string{"example.com"}}}
}

func serveTLS(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestSectionSwitches checks how each optional section is switched on, and
// that settings which would otherwise do nothing are refused.
func TestSectionSwitches(t *testing.T) {
	store, _ := memstore.New(memstore.Config{})
	tests := []struct {
		name string
		edit func(*bulwark.Config)
		err  string // "" = valid
	}{
		{"hosts only", func(*bulwark.Config) {}, ""},
		{"session with a store", func(c *bulwark.Config) { c.Session.Store = store }, ""},
		{"session settings without a store", func(c *bulwark.Config) { c.Session.Lifetime = time.Hour }, "bulwark: [session] settings given but no store"},
		{"session logger alone is no setting", func(c *bulwark.Config) { c.Session.Logger = quiet }, ""},
		{"csrf in the session", func(c *bulwark.Config) { c.Session.Store = store; c.CSRF.UseSessions = true }, ""},
		{"csrf in the session without one", func(c *bulwark.Config) { c.CSRF.UseSessions = true }, "bulwark: [csrf] use_sessions needs the session layer"},
		{"csrf in an invalid session", func(c *bulwark.Config) {
			c.Session.Store = store
			c.Session.Lifetime = -1
			c.CSRF.UseSessions = true
		}, "bulwark: [session] lifetime: negative"},
		{"uploads settings without paths", func(c *bulwark.Config) { c.Uploads.Reencode = true }, "bulwark: [uploads] settings given but no paths"},
		{"uploads path not clean", func(c *bulwark.Config) { c.Uploads.Paths = []string{"/a/../upload/"} }, `bulwark: [uploads] paths: invalid path pattern: "/a/../upload/" is not clean (write "/upload/")`},
		{"media settings without hosts", func(c *bulwark.Config) { c.Media.CrossOriginResourcePolicy = "same-site" }, "bulwark: [media] hosts is required"},
		{"media without a directory", func(c *bulwark.Config) { c.Media.Hosts = []string{"media.example.net"} }, "bulwark: [media] dir is required"},
		{"media on a subdomain of the site", func(c *bulwark.Config) {
			c.Media.Hosts = []string{"media.example.com"}
			c.Media.Dir = t.TempDir()
		}, "shares the registrable domain"},
		{"media on another site", func(c *bulwark.Config) {
			c.Media.Hosts = []string{"media.example.net"}
			c.Media.Dir = t.TempDir()
		}, ""},
		{"limits invalid", func(c *bulwark.Config) { c.Limits.MaxFiles = -2 }, "bulwark: [limits] max_files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := siteConfig()
			tt.edit(&c)
			b, err := bulwark.New(c)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				b.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want %q", err, tt.err)
			}
			if strings.Count(err.Error(), "bulwark: [") != 1 {
				t.Errorf("one mistake, several errors: %v", err)
			}
			// The key reads once: no package prefix after the section.
			if strings.Contains(err.Error(), "]: ") || strings.Contains(err.Error(), "invalid configuration") {
				t.Errorf("error %q repeats its section", err)
			}
		})
	}
}

// TestCSRFInSession checks that CSRF.UseSessions keeps the secret in the
// session layer without any wiring by the user.
func TestCSRFInSession(t *testing.T) {
	store, _ := memstore.New(memstore.Config{})
	c := siteConfig()
	c.Session.Store = store
	c.CSRF.UseSessions = true
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.WriteString(w, "ok")
			return
		}
		io.WriteString(w, csrf.Token(r))
	}))
	w := serveTLS(h, httptest.NewRequest("GET", "https://example.com/", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-session" {
		t.Fatalf("cookies %v: want the session cookie only", cookies)
	}
	post := func(token string) int {
		r := httptest.NewRequest("POST", "https://example.com/", nil)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("X-CSRFToken", token)
		r.AddCookie(cookies[0])
		return serveTLS(h, r).Code
	}
	if got := post(w.Body.String()); got != 200 {
		t.Errorf("POST with the session's token: %d", got)
	}
	// Another visitor's token (another session, another secret).
	other := serveTLS(h, httptest.NewRequest("GET", "https://example.com/", nil)).Body.String()
	if got := post(other); got != 403 {
		t.Errorf("attack: POST with another session's token: %d, want 403", got)
	}
}

type downStore struct{}

func (downStore) Find(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("connection refused")
}
func (downStore) Commit(context.Context, string, []byte, time.Time) error {
	return errors.New("connection refused")
}
func (downStore) Delete(context.Context, string) error { return errors.New("connection refused") }

// TestSessionStoreDownOneEvent: a store outage behind CSRF in the session
// is a 503 and one session_store_error event, not two.
func TestSessionStoreDownOneEvent(t *testing.T) {
	var buf bytes.Buffer
	c := siteConfig()
	c.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	c.Session.Store = downStore{}
	c.CSRF.UseSessions = true
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := b.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	r := httptest.NewRequest("POST", "https://example.com/", nil)
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("X-CSRFToken", strings.Repeat("a", 64))
	r.AddCookie(&http.Cookie{Name: "__Host-session", Value: strings.Repeat("A", 43)})
	w := serveTLS(h, r)
	if w.Code != 503 || called {
		t.Fatalf("status %d, application called %v: want 503 before the application", w.Code, called)
	}
	if n := strings.Count(buf.String(), `"event":"session_store_error"`); n != 1 {
		t.Errorf("%d session_store_error events, want 1:\n%s", n, buf.String())
	}
}

// TestUploadPaths checks which paths are inspected: a polyglot is refused
// (415) on an upload path however it is spelt, and reaches the
// application elsewhere (which then must not accept files there).
func TestUploadPaths(t *testing.T) {
	c := siteConfig()
	c.CSRF.InsecureSkipTokens = true // this test is about paths
	c.Uploads.Paths = []string{"/upload/", "/avatar"}
	b, err := bulwark.New(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/upload/", 415},
		{"/upload", 415},
		{"/upload/a/b", 415},
		{"/avatar", 415},
		{"/x/../upload/a", 415},
		{"//upload/a", 415},
		{"/upload/./a", 415},
		{"/avatar/", 200},
		{"/avatarx", 200},
		{"/uploads", 200},
		{"/Upload/a", 200},
		{"/", 200},
	} {
		t.Run(tt.path, func(t *testing.T) {
			o := multipartOpt(nil, "cat.png", polyglot)
			r := httptest.NewRequest("POST", "https://example.com/", o.body)
			r.URL.Path = tt.path
			r.Header.Set("Content-Type", o.ctype)
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			if got := serveTLS(h, r).Code; got != tt.status {
				t.Errorf("%s: %d, want %d", tt.path, got, tt.status)
			}
		})
	}
	if b.Uploader() == nil {
		t.Error("no Uploader with upload paths")
	}
}

// TestEffectiveSessionOff: sections that are off stay empty in Effective,
// so its output loads again without a store.
func TestEffectiveSessionOff(t *testing.T) {
	eff, err := siteConfig().Effective()
	if err != nil {
		t.Fatal(err)
	}
	if eff.Session.Lifetime != 0 || eff.Uploads.Policy.MaxPixels != 0 || eff.Media.CrossOriginResourcePolicy != "" {
		t.Errorf("defaults filled into sections that are off: %+v %+v %+v", eff.Session, eff.Uploads, eff.Media)
	}
	if eff.Limits.MaxFields != 1000 || eff.CSRF.CookieName != "csrftoken" {
		t.Errorf("always-on sections without their defaults: %+v %+v", eff.Limits, eff.CSRF)
	}
	if err := eff.Validate(); err != nil {
		t.Error(err)
	}
}
