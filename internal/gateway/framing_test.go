package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"
)

// notesOf feeds stream to a watcher in pieces of at most chunk bytes and
// returns its notes.
func notesOf(stream []byte, chunk int) []framing {
	var wt watcher
	wt.reset()
	for len(stream) > 0 {
		n := min(chunk, len(stream))
		wt.feed(stream[:n])
		stream = stream[n:]
	}
	var out []framing
	for i := 0; i < wt.notesN; i++ {
		out = append(out, wt.notes[(wt.oldest+i)%len(wt.notes)])
	}
	return out
}

// TestWatcherAllocs pins that following a keep-alive connection costs no
// allocation per request.
func TestWatcherAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	fc := newFramedConn(nil, nil)
	req := []byte("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	r, _ := http.NewRequest("POST", "https://a/x", nil)
	r.RequestURI = "/x"
	if n := testing.AllocsPerRun(100, func() {
		fc.mu.Lock()
		fc.w.feed(req)
		fc.mu.Unlock()
		if _, ok := fc.claim(r); !ok {
			t.Fatal("no note")
		}
	}); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}

func TestWatcher(t *testing.T) {
	type note struct {
		method         string
		http10, cl, te bool
	}
	for _, tc := range []struct {
		name   string
		stream string
		want   []note
	}{
		{"get", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", []note{{"GET", false, false, false}}},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", []note{{"GET", false, false, false}}},
		{"cl body then get", "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /y HTTP/1.1\r\n\r\n", []note{{"POST", false, true, false}, {"GET", false, false, false}}},
		{"body that looks like a head", "POST / HTTP/1.1\r\nContent-Length: 30\r\n\r\nTransfer-Encoding: chunked\r\n\r\nGET / HTTP/1.1\r\n\r\n", []note{{"POST", false, true, false}, {"GET", false, false, false}}},
		{"cl+te", "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n", []note{{"POST", false, true, true}}},
		{"te+cl, odd case", "POST / HTTP/1.1\r\ntRANSFER-eNCODING: chunked\r\nCONTENT-LENGTH: 4\r\n\r\n", []note{{"POST", false, true, true}}},
		{"http/1.0 te", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", []note{{"POST", true, false, true}}},
		{"http/0.5 te", "POST / HTTP/0.5\r\nTransfer-Encoding: chunked\r\n\r\n", []note{{"POST", true, false, true}}},
		{"names inside values do not count", "GET / HTTP/1.1\r\nX-A: content-length: 5\r\nX-B: transfer-encoding: x\r\n\r\nGET / HTTP/1.1\r\n\r\n", []note{{"GET", false, false, false}, {"GET", false, false, false}}},
		{"options star", "OPTIONS * HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n", []note{{"OPTIONS", false, false, false}, {"GET", false, false, false}}},
		{"bad length stops", "POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\nGET / HTTP/1.1\r\n\r\n", []note{{"POST", false, true, false}}},
	} {
		for _, chunk := range []int{1, 3, 4096} {
			got := notesOf([]byte(tc.stream), chunk)
			if len(got) != len(tc.want) {
				t.Errorf("%s (chunks of %d): %d notes, want %d", tc.name, chunk, len(got), len(tc.want))
				continue
			}
			for i, w := range tc.want {
				g := got[i]
				if string(g.method[:g.methodLen]) != w.method || g.http10 != w.http10 || g.cl != w.cl || g.te != w.te {
					t.Errorf("%s (chunks of %d): note %d = %+v, want %+v", tc.name, chunk, i, g, w)
				}
			}
		}
	}
}

func TestWatcherClaim(t *testing.T) {
	var wt watcher
	wt.reset()
	wt.feed([]byte("OPTIONS * HTTP/1.1\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	r, _ := http.NewRequest("POST", "https://a/", nil)
	r.RequestURI = "/"
	f, ok := wt.claim(r)
	if !ok || f.faulty() != "content_length_with_transfer_encoding" {
		t.Errorf("claim = %+v, %v; want the POST's faulty note", f, ok)
	}
	if _, ok := wt.claim(r); ok {
		t.Error("a second claim found a note")
	}
	wt = watcher{}
	wt.reset()
	wt.feed([]byte("GET / HTTP/1.1\r\n\r\n"))
	if _, ok := wt.claim(r); ok {
		t.Error("a GET note matched a POST request")
	}
}

// watcherSeeds are request streams: sound, smuggling and broken.
var watcherSeeds = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
	"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\nTransfer-Encoding : chunked\n\n",
	"POST / HTTP/0.5\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
}

func TestWatcherSeedsNotEmpty(t *testing.T) {
	if len(watcherSeeds) == 0 {
		t.Fatal("no seeds")
	}
}

// FuzzWatcher: properties of the framing watcher on any byte stream:
// (1) how the stream is cut into reads does not change its notes; (2)
// for the first request net/http's own parser accepts, the first note
// names its method and, where net/http says the body is chunked or has a
// length, the note saw Transfer-Encoding or Content-Length; so a request
// net/http reads as chunked while it also carried Content-Length is
// refused (the note has both).
func FuzzWatcher(f *testing.F) {
	for _, s := range watcherSeeds {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		whole := notesOf(stream, len(stream)+1)
		cut := notesOf(stream, int(chunk)%16+1)
		if len(whole) != len(cut) {
			t.Fatalf("%d notes whole, %d in pieces of %d", len(whole), len(cut), int(chunk)%16+1)
		}
		for i := range whole {
			if whole[i] != cut[i] {
				t.Fatalf("note %d differs: %+v whole, %+v in pieces", i, whole[i], cut[i])
			}
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(stream)))
		if err != nil {
			return
		}
		if len(whole) == 0 {
			t.Fatalf("net/http read %s %q, the watcher noted nothing", req.Method, req.RequestURI)
		}
		n := whole[0]
		if string(n.method[:n.methodLen]) != methodPrefix(req.Method, len(n.method)) {
			t.Fatalf("note method %q, net/http %q", n.method[:n.methodLen], req.Method)
		}
		if len(req.TransferEncoding) > 0 && !n.te {
			t.Fatalf("net/http reads a chunked body, the note saw no Transfer-Encoding: %+v", n)
		}
		if len(req.TransferEncoding) == 0 && req.ContentLength > 0 && !n.cl {
			t.Fatalf("net/http reads a %d-byte body, the note saw no Content-Length: %+v", req.ContentLength, n)
		}
		if !req.ProtoAtLeast(1, 1) && n.te && n.faulty() == "" {
			t.Fatalf("net/http ignores Transfer-Encoding on %s, the note does not refuse it: %+v", req.Proto, n)
		}
		if _, hasCL := req.Header["Content-Length"]; hasCL && len(req.TransferEncoding) > 0 {
			t.Fatal("net/http kept Content-Length beside Transfer-Encoding")
		}
	})
}
