package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// canonicalSeeds are request targets and a header sent twice, spelt the
// ways that make servers disagree.
var canonicalSeeds = []struct{ target, name, v1, v2 string }{
	{"/upload/avatar/", "Content-Type", "text/plain", "multipart/form-data; boundary=x"},
	{"//upload//avatar/", "X-Custom", "a", "b"},
	{"/x/../upload/", "Accept", "*/*", "text/html"},
	{"/upload/%2e%2e/x", "Origin", "https://site.test", "https://evil.test"},
	{"/upload%2Favatar", "Cookie", "a=1", "a=2"},
	{"/%75pload/caf%C3%A9?q=%2F", "Script_Name", "/x", "/y"},
	{"/a\\b", "Referer", "https://site.test/", "https://evil.test/"},
	{"/a%00b", "Authorization", "Basic YTpi", "Basic Yzpk"},
	{"/?a=1", "X_Forwarded_Host", "evil.test", "evil.test"},
	{"/ok", "Sec-Fetch-Site", "same-origin", "cross-site"},
	{"/ok", "Content-Length", "0", "0"},
	{"/%2e/", "Host", "site.test", "evil.test"},
}

func TestCanonicalSeedsNotEmpty(t *testing.T) {
	if len(canonicalSeeds) == 0 {
		t.Fatal("no seeds")
	}
}

// FuzzCanonicalForwarding sends a request with a fuzzed target and a
// fuzzed header given twice through the gateway's canonicalizer, chain
// and proxy to a real HTTP upstream. Property: the request the upstream
// receives has exactly one value for every singleton header, no header
// name with '_', the validated host, and the very path the edge's layers
// matched (the upstream's own parse of what was forwarded gives the path
// the chain saw); a request the edge refuses never reaches the upstream.
func FuzzCanonicalForwarding(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add(s.target, s.name, s.v1, s.v2)
	}
	var (
		mu       sync.Mutex
		received *http.Request
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		received = r
		mu.Unlock()
	}))
	f.Cleanup(up.Close)

	var cfg Config
	cfg.Upstream.URL = up.URL
	cfg.Uploads.Paths = []string{"/upload/"}
	cfg, g, chain, tp := fuzzEdge(f, cfg)
	quiet := g.logger
	target, _ := url.Parse(up.URL)
	fw := newForwarding(cfg.Forwarding)
	tr := &http.Transport{}
	f.Cleanup(tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{Rewrite: rewrite(target, false, fw), Transport: tr, ErrorLog: slog.NewLogLogger(quiet.Handler(), slog.LevelDebug)}
	buf := newBufferer(cfg.Buffering, cfg.Timeouts.Read, quiet)
	var judged string // the path the chain's layers saw
	h := &canonicalizer{
		next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			judged = r.URL.Path
			buf.guard(chain(&proxyHandler{rp: rp, m: g.metrics, logger: quiet, events: quiet, fw: fw, buf: buf})).ServeHTTP(w, r)
		}),
		fw: fw, events: quiet, logger: quiet, tp: tp,
	}

	f.Fuzz(func(t *testing.T, reqTarget, name, v1, v2 string) {
		u, err := url.ParseRequestURI(reqTarget)
		if err != nil || u.Host != "" || !httpguts.ValidHeaderFieldName(name) ||
			!httpguts.ValidHeaderFieldValue(v1) || !httpguts.ValidHeaderFieldValue(v2) {
			return // net/http's server would not hand such a request on
		}
		switch http.CanonicalHeaderKey(name) {
		case "Content-Length", "Transfer-Encoding", "Connection", "Te", "Trailer", "Upgrade", "Expect", "Keep-Alive", "Proxy-Connection":
			return // framing: net/http's server decides on these first
		}
		r := httptest.NewRequest("POST", "https://site.test/", strings.NewReader("a=1"))
		r.URL, r.RequestURI = u, reqTarget
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		k := http.CanonicalHeaderKey(name)
		if k == "Host" {
			r.Host = v1 // HTTP/1: the Host header is r.Host
		} else {
			r.Header[k] = []string{v1, v2}
		}
		mu.Lock()
		received = nil
		mu.Unlock()
		judged = ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		mu.Lock()
		got := received
		mu.Unlock()
		if got == nil {
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d but the upstream was reached", reqTarget, w.Code)
		}
		if got.URL.Path != judged {
			t.Fatalf("%q: the edge judged path %q, the upstream received %q (%q)", reqTarget, judged, got.URL.Path, got.RequestURI)
		}
		if p, reason := canonicalPath(got.URL.Path, got.URL.RawPath, ""); reason != "" || p != got.URL.Path {
			t.Fatalf("%q: the upstream received a non-canonical path %q (%s)", reqTarget, got.RequestURI, reason)
		}
		if got.Host != "site.test" {
			t.Fatalf("%q: the upstream received Host %q", reqTarget, got.Host)
		}
		for hk, vs := range got.Header {
			if isSingleton(hk) && len(vs) != 1 {
				t.Fatalf("the upstream received %s %d times: %q", hk, len(vs), vs)
			}
			if strings.Contains(hk, "_") {
				t.Fatalf("the upstream received %s", hk)
			}
		}
	})
}
