package mediameta_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/mediameta"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Files stored without Bulwark (as Django's FileField stores them, with no
// sidecar) are served by the type their content has: raster images
// inline, the rest as attachments, a polyglot as an opaque attachment.
func TestServeByContent(t *testing.T) {
	dir := t.TempDir()
	png := uploadcorpus.PNG()
	files := map[string][]byte{
		"photos/cat.png":      png,
		"photos/cat.jpg":      uploadcorpus.JPEG(),
		"photos/polyglot.png": uploadcorpus.PNGChunk(png, "tEXt", []byte("c\x00<html><script>alert(1)</script></html>")),
		"photos/page.png":     []byte("<!doctype html><script>alert(1)</script>"),
		"photos/jpeg-as.png":  uploadcorpus.JPEG(),
		"docs/paper.pdf":      uploadcorpus.PDF(),
		"docs/notes":          []byte("plain words"),
		"photos/named.png":    png,
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A sidecar claiming HTML for a PNG: the content decides the type, the
	// sidecar only the display name.
	root, _ := os.OpenRoot(dir)
	if err := media.WriteSidecar(root, "photos/named.png", media.Meta{Type: "text/html", Filename: "My cat.png"}, 0o644); err != nil {
		t.Fatal(err)
	}
	root.Close()

	lk, err := mediameta.New(dir, inspect.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	h, err := media.New(media.Config{Hosts: []string{"usercontent.example.net"}, SiteHosts: []string{"example.com"}, Dir: dir, Lookup: lk})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, tc := range []struct {
		name, ctype, disposition string
	}{
		{"photos/cat.png", "image/png", `inline; filename="cat.png"`},
		{"photos/cat.jpg", "image/jpeg", `inline; filename="cat.jpg"`},
		{"photos/polyglot.png", mediameta.Opaque, `attachment; filename="polyglot.png"`},
		{"photos/page.png", mediameta.Opaque, `attachment; filename="page.png"`},
		{"photos/jpeg-as.png", mediameta.Opaque, `attachment; filename="jpeg-as.png"`},
		{"docs/paper.pdf", "application/pdf", `attachment; filename="paper.pdf"`},
		{"docs/notes", mediameta.Opaque, `attachment; filename="notes"`},
		{"photos/named.png", "image/png", `inline; filename="My cat.png"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "https://usercontent.example.net/"+tc.name, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d", w.Code)
			}
			hd := w.Header()
			if got := hd.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := hd.Get("Content-Disposition"); got != tc.disposition {
				t.Errorf("Content-Disposition %q, want %q", got, tc.disposition)
			}
			if hd.Get("X-Content-Type-Options") != "nosniff" || hd.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
				t.Errorf("headers %v", hd)
			}
		})
	}
}

// A file replaced under the same name is inspected again.
func TestReplacedFileInspectedAgain(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.png")
	if err := os.WriteFile(p, uploadcorpus.PNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	lk, err := mediameta.New(dir, inspect.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	if m, err := lk.Lookup(t.Context(), "a.png"); err != nil || m.Type != "image/png" {
		t.Fatalf("first: %+v %v", m, err)
	}
	bad := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(p, later, later)
	if m, err := lk.Lookup(t.Context(), "a.png"); err != nil || m.Type != mediameta.Opaque {
		t.Fatalf("replaced: %+v %v", m, err)
	}
	if _, err := lk.Lookup(t.Context(), "missing.png"); err == nil {
		t.Errorf("a missing file has metadata")
	}
}

func TestNewRefusesBadPolicy(t *testing.T) {
	if _, err := mediameta.New(t.TempDir(), inspect.Policy{Allow: []string{"text/html"}}); err == nil {
		t.Error("a policy allowing HTML was accepted")
	}
}
