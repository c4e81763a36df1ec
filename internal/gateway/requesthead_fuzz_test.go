package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequestHead: for any request writeRequestHead takes, it writes the
// same bytes as (*http.Request).Write; for one it declines, it writes
// nothing. The inputs are a method, a host, a path and its escaped form
// (the URL's RawPath, which Write uses when it matches), a query and header
// lines "Name: value" separated by "\n" (a value may carry CR or LF
// through a "\\r" or "\\n" escape, which Write must sanitise).
func FuzzRequestHead(f *testing.F) {
	f.Add("GET", "site.test", "/a/b", "", "x=1", "Accept: */*\nUser-Agent: agent/1\nX-Forwarded-For: 192.0.2.7")
	f.Add("HEAD", "127.0.0.1:8000", "/", "", "", "User-Agent: \nCookie: a=1; b=2")
	f.Add("OPTIONS", "[::1]:80", "/caf\u00e9 x", "", "", "Access-Control-Request-Method: PUT\nBad Name: v")
	f.Add("GET", "h\u00e9.test", "/a/b", "/a%2Fb", "q=%zz;x", "X-A:  padded\\r\\n value \nX-A: second\nx-lower: k")
	f.Add("GET", "[fe80::1%25eth0]", "/", "", "", "Te: trailers\nContent-Length: 9\nHost: other")
	f.Add("POST", "site.test", "/", "", "", "")
	f.Add("GET", "", "", "", "", "User-Agent")
	f.Fuzz(func(t *testing.T, method, host, path, rawPath, query, lines string) {
		r := &http.Request{
			Method: method,
			Host:   host,
			URL:    &url.URL{Scheme: "http", Host: "upstream.test", Path: path, RawPath: rawPath, RawQuery: query},
			Header: http.Header{},
		}
		for line := range strings.SplitSeq(lines, "\n") {
			if line == "" {
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			v = strings.NewReplacer(`\r`, "\r", `\n`, "\n").Replace(v)
			r.Header[k] = append(r.Header[k], v)
		}
		var got bytes.Buffer
		bw := bufio.NewWriter(&got)
		ok := writeRequestHead(bw, r)
		bw.Flush()
		if !ok {
			if got.Len() != 0 {
				t.Fatalf("declined, yet wrote %q", got.String())
			}
			return
		}
		var want bytes.Buffer
		if err := r.Write(&want); err != nil {
			t.Fatalf("took a request Write refuses (%v): wrote %q", err, got.String())
		}
		if got.String() != want.String() {
			t.Fatalf("wrote\n%q\nWrite writes\n%q", got.String(), want.String())
		}
	})
}

// TestRequestHeadTakesCommonRequests: the common requests take the fast
// writer (FuzzRequestHead would pass vacuously if none did), the rest
// fall back to Write.
func TestRequestHeadTakesCommonRequests(t *testing.T) {
	for _, tc := range []struct {
		method, host, target string
		header               http.Header
		take                 bool
	}{
		{"GET", "site.test", "/a?b=1", http.Header{"Accept": {"*/*"}, "User-Agent": {""}}, true},
		{"HEAD", "site.test:8443", "/", nil, true},
		{"OPTIONS", "127.0.0.1", "/api", http.Header{"Origin": {"https://site.test"}}, true},
		{"GET", "site.test", "/a%2Fb", nil, true},
		{"POST", "site.test", "/", nil, false},
		{"GET", "h\u00e9.test", "/", nil, false},
		{"GET", "[fe80::1%eth0]", "/", nil, false},
	} {
		u, err := url.Parse("http://upstream.test" + tc.target)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{Method: tc.method, Host: tc.host, URL: u, Header: tc.header}
		var got, want bytes.Buffer
		bw := bufio.NewWriter(&got)
		took := writeRequestHead(bw, r)
		bw.Flush()
		if took != tc.take {
			t.Errorf("%s %s %s: took %v, want %v", tc.method, tc.host, tc.target, took, tc.take)
		}
		if !took {
			continue
		}
		r.Write(&want)
		if got.String() != want.String() {
			t.Errorf("%s %s: wrote %q, Write writes %q", tc.method, tc.target, got.String(), want.String())
		}
	}
}
