package bulwark_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
)

// Upload inspection on every path with an exemption: the exempt view
// gets the body as sent; every other path, and every spelling of the
// exempt path that is not clean, is inspected.
func TestUploadsExemptPaths(t *testing.T) {
	var cfg bulwark.Config
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Hosts.Allowed = []string{"example.com"}
	cfg.CSRF.InsecureSkipTokens = true
	cfg.Uploads.Paths = []string{"/"}
	cfg.Uploads.ExemptPaths = []string{"/api/import/", "/raw"}
	b, err := bulwark.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var reached bool
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		io.WriteString(w, "app")
	}))
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(png, "tEXt", []byte("c\x00<html><script>alert(1)</script></html>"))
	for _, tc := range []struct {
		name, path string
		file       []byte
		want       int
	}{
		{"a PNG anywhere is accepted", "/admin/app/photo/add/", png, 200},
		{"attack: a polyglot on any path is refused", "/admin/app/photo/add/", polyglot, 415},
		{"attack: a polyglot on the root is refused", "/", polyglot, 415},
		{"an exempt prefix is not inspected", "/api/import/batch", polyglot, 200},
		{"an exempt exact path is not inspected", "/raw", polyglot, 200},
		{"attack: below an exact exemption is inspected", "/raw/x", polyglot, 415},
		{"attack: a dot segment into the exemption is inspected", "/api/import/../../admin/", polyglot, 415},
		{"attack: an unclean spelling of the exemption is inspected", "//api/import/batch", polyglot, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("image", "cat.png")
			fw.Write(tc.file)
			mw.Close()
			r := httptest.NewRequest("POST", "https://example.com/", &body)
			r.URL.Path = tc.path
			r.TLS = &tls.ConnectionState{}
			r.Header.Set("Content-Type", mw.FormDataContentType())
			r.Header.Set("Origin", "https://example.com")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			reached = false
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%q)", w.Code, tc.want, w.Body.String())
			}
			if reached != (tc.want == 200) {
				t.Errorf("the app was reached: %v", reached)
			}
		})
	}
}

func TestUploadsExemptPathsValidated(t *testing.T) {
	var cfg bulwark.Config
	cfg.Hosts.Allowed = []string{"example.com"}
	cfg.Uploads.Paths = []string{"/"}
	cfg.Uploads.ExemptPaths = []string{"api/"}
	if err := cfg.Validate(); err == nil {
		t.Fatal("a relative exempt path was accepted")
	}
}
