package bulwark_test

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
)

// uploadPathSeeds are request paths a router may map to an upload handler,
// spelt every way an attacker might try to slip past the upload layer.
var uploadPathSeeds = []string{
	"/upload/", "/upload", "/upload/a", "//upload/a", "/./upload/a", "/x/../upload/a",
	"/upload/../upload/a", "/upload/./", "/UPLOAD/a", "/upload%2Fa", "/upload/%2e%2e/a",
	"/avatar", "/avatar/", "/avatar/.", "/x/..//avatar", "", "upload/a", "/upload\\a",
}

// FuzzUploadPaths asserts that no polyglot reaches a handler an
// http.ServeMux routes under an upload path, however the path is spelt:
// the upload layer inspects every request the router would give to those
// handlers.
func FuzzUploadPaths(f *testing.F) {
	for _, s := range uploadPathSeeds {
		f.Add(s)
	}
	c := siteConfig()
	c.CSRF.InsecureSkipTokens = true
	c.Uploads.Paths = []string{"/upload/", "/avatar"}
	b, err := bulwark.New(c)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { b.Close() })
	var reached bool
	mux := http.NewServeMux()
	mux.HandleFunc("/upload/", func(http.ResponseWriter, *http.Request) { reached = true })
	mux.HandleFunc("/avatar", func(http.ResponseWriter, *http.Request) { reached = true })
	mux.HandleFunc("/", func(http.ResponseWriter, *http.Request) {})
	h := b.Handler(mux)
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))
	o := multipartOpt(nil, "cat.png", polyglot)
	body := o.body.(*bytes.Buffer).Bytes()

	f.Fuzz(func(t *testing.T, p string) {
		r := httptest.NewRequest("POST", "https://example.com/", bytes.NewReader(body))
		r.URL.Path, r.URL.RawPath = p, ""
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Content-Type", o.ctype)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		reached = false
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if reached {
			t.Fatalf("path %q: a polyglot reached an upload handler (status %d)", p, w.Code)
		}
	})
}

func TestUploadPathSeeds(t *testing.T) {
	if len(uploadPathSeeds) == 0 {
		t.Fatal("no seeds")
	}
}
