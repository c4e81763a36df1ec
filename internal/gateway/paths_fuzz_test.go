package gateway

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// edgePathSeeds are request paths spelt every way an attacker might try to
// reach an upload or CSRF-protected view of the upstream past the edge's
// path lists.
var edgePathSeeds = []string{
	"/upload/a", "/upload/", "/upload", "//upload/a", "/./upload/a", "/x/../upload/a",
	"/upload/../x", "/upload/%2e%2e/x", "/upload//../x", "/upload/.", "/app/form", "/app/../x",
	"/x/../app/form", "//app//form", "/api/hook", "/api/../app/form", "", "app/form", "/app\\form",
}

// under reports whether path p is under prefix pre ("/upload/") as an
// upstream would route it: as sent (Django behind gunicorn does not clean
// paths) or cleaned (a Go router).
func under(p, pre string) bool {
	return strings.HasPrefix(p, pre) || strings.HasPrefix(pathset.Clean(p), pre)
}

// FuzzEdgePaths asserts, for the chain the gateway composes behind its
// canonicalizer, that however
// the path is spelt, no upload polyglot reaches an upstream view under an
// upload path and no cross-site POST reaches a view under a CSRF path,
// whether the upstream routes the path as sent or cleaned.
func FuzzEdgePaths(f *testing.F) {
	for _, s := range edgePathSeeds {
		f.Add(s)
	}
	var cfg Config
	cfg.Upstream.URL = "http://127.0.0.1:8000"
	cfg.Uploads.Paths = []string{"/upload/"}
	cfg.Edge.CSRFPaths = []string{"/app/"}
	cfg, g, chain, tp := fuzzEdge(f, cfg)
	quiet := g.logger
	var reached string
	h := &canonicalizer{next: chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		reached = r.URL.Path
	})), fw: newForwarding(cfg.Forwarding), events: quiet, logger: quiet, tp: tp}
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("avatar", "cat.png")
	fw.Write(polyglot)
	mw.Close()

	send := func(p string, hdr ...string) (string, int) {
		r := httptest.NewRequest("POST", "https://site.test/", bytes.NewReader(body.Bytes()))
		r.URL.Path, r.URL.RawPath = p, ""
		r.TLS = &tls.ConnectionState{}
		r.Header.Set("Content-Type", mw.FormDataContentType())
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		reached = ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return reached, w.Code
	}
	f.Fuzz(func(t *testing.T, p string) {
		if got, code := send(p, "Sec-Fetch-Site", "same-origin"); got != "" && under(p, "/upload/") {
			t.Fatalf("path %q: a polyglot reached the upstream under /upload/ (status %d)", p, code)
		}
		if got, code := send(p, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"); got != "" && under(p, "/app/") {
			t.Fatalf("path %q: a cross-site POST reached the upstream under /app/ (status %d)", p, code)
		}
	})
}

func TestEdgePathSeedsNotEmpty(t *testing.T) {
	if len(edgePathSeeds) == 0 {
		t.Fatal("no seeds")
	}
}

// fuzzEdge validates cfg (site.test allowed, a certificate source set)
// and builds what the gateway puts in front of its proxy: a Gateway with
// quiet loggers, the composed chain and the chain's proxy resolver.
func fuzzEdge(f *testing.F, cfg Config) (Config, *Gateway, func(http.Handler) http.Handler, *trustedproxy.Resolver) {
	f.Helper()
	cfg.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil }
	cfg.Hosts.Allowed = []string{"site.test"}
	if err := cfg.Validate(); err != nil {
		f.Fatal(err)
	}
	cfg = cfg.WithDefaults()
	tp, err := trustedproxy.New(cfg.Proxy)
	if err != nil {
		f.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	g := &Gateway{logger: quiet, events: quiet, metrics: newMetrics()}
	chain, closer, err := g.composeChain(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { closer.Close() })
	return cfg, g, chain, tp
}
