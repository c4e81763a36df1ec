package gateway

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/spool"
)

// TestBufferSmallBodyAllocs pins what buffering costs a small body: the
// guarded request copy with its reader, the response controller, the
// buffered request copy and the spooled body; the memory itself is pooled.
func TestBufferSmallBodyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	b := newBufferer(BufferingConfig{}.withDefaults(""), time.Minute, slog.New(slog.DiscardHandler))
	payload := strings.Repeat("x", 1500)
	src := strings.NewReader(payload)
	body := io.NopCloser(src)
	req, _ := http.NewRequest("POST", "https://example.com/form", nil)
	w := &deadlineWriter{discardWriter{h: http.Header{}}, 0}
	sink := make([]byte, 4096)
	h := b.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, ok := b.prepare(w, r)
		if !ok || !spool.IsBody(out.Body) || out.ContentLength != int64(len(payload)) {
			t.Fatal("not buffered")
		}
		out.Body.Read(sink)
		out.Body.Close()
	}))
	n := testing.AllocsPerRun(200, func() {
		src.Reset(payload)
		req.Body = body
		h.ServeHTTP(w, req)
	})
	if n > 4 {
		t.Errorf("buffering a %d-byte body: %v allocations, want at most 4", len(payload), n)
	}
	if w.calls == 0 {
		t.Error("no read deadline was set")
	}
}

// deadlineWriter takes read deadlines, as the server's connections do.
type deadlineWriter struct {
	discardWriter
	calls int
}

func (d *deadlineWriter) SetReadDeadline(time.Time) error { d.calls++; return nil }

// TestBufferPassesBodilessAndSpooled: requests without a body and bodies
// the upload layer already spooled are not copied again.
func TestBufferPassesBodilessAndSpooled(t *testing.T) {
	b := newBufferer(BufferingConfig{}.withDefaults(""), time.Minute, slog.New(slog.DiscardHandler))
	w := &discardWriter{h: http.Header{}}
	get, _ := http.NewRequest("GET", "https://example.com/", nil)
	get.Body = http.NoBody
	if out, ok := b.prepare(w, get); !ok || out != get {
		t.Error("a request without a body was copied")
	}
	d := spool.New("", 0).Get()
	d.Write([]byte("abc"))
	d.Finish()
	post, _ := http.NewRequest("POST", "https://example.com/", nil)
	post.Body = d
	if out, ok := b.prepare(w, post); !ok || out != post {
		t.Error("a spooled body was spooled again")
	}
	d.Close()
}

// TestBufferDropsTrailersAndChunking: the buffered request goes on with a
// Content-Length and without Transfer-Encoding or trailers.
func TestBufferDropsTrailersAndChunking(t *testing.T) {
	b := newBufferer(BufferingConfig{}.withDefaults(""), time.Minute, slog.New(slog.DiscardHandler))
	w := &discardWriter{h: http.Header{}}
	req, _ := http.NewRequest("POST", "https://example.com/", io.NopCloser(bytes.NewReader([]byte("hello"))))
	req.ContentLength = -1
	req.TransferEncoding = []string{"chunked"}
	req.Trailer = http.Header{"X-T": {"1"}}
	req.Header.Set("Expect", "100-continue")
	out, ok := b.prepare(w, req)
	if !ok {
		t.Fatal("refused")
	}
	defer out.Body.Close()
	got, _ := io.ReadAll(out.Body)
	if string(got) != "hello" || out.ContentLength != 5 || out.TransferEncoding != nil || out.Trailer != nil {
		t.Errorf("got %q len %d te %v trailer %v", got, out.ContentLength, out.TransferEncoding, out.Trailer)
	}
	if out.Header.Get("Expect") != "" {
		t.Error("Expect forwarded with a buffered body")
	}
	if req.ContentLength != -1 || req.Trailer == nil || req.Header.Get("Expect") == "" {
		t.Error("the incoming request was modified")
	}
}

// resetConn is a connection whose writes fail as a reset peer's do and
// whose reads return an answer already received, then the reset.
type resetConn struct {
	net.Conn
	answer []byte
}

func (c *resetConn) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}
}

func (c *resetConn) Read(p []byte) (int, error) {
	if len(c.answer) == 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	n := copy(p, c.answer)
	c.answer = c.answer[n:]
	return n, nil
}

// TestEarlyAnswerConn: a write to a peer that stopped reading reports
// success (so that the answer already received is read), until a read
// has failed; then writes fail with the original error.
func TestEarlyAnswerConn(t *testing.T) {
	c := &earlyAnswerConn{Conn: &resetConn{answer: []byte("HTTP/1.1 403 Forbidden\r\n\r\n")}}
	for i := 0; i < 3; i++ {
		if n, err := c.Write([]byte("body")); n != 4 || err != nil {
			t.Fatalf("write %d to a reset peer: %d, %v; want 4, nil", i, n, err)
		}
	}
	got, err := io.ReadAll(c)
	if string(got) != "HTTP/1.1 403 Forbidden\r\n\r\n" || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %q, %v", got, err)
	}
	if n, err := c.Write([]byte("next request")); n != 0 || !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after the answer: %d, %v; want 0, EPIPE", n, err)
	}
	other := &earlyAnswerConn{Conn: &failConn{err: os.ErrDeadlineExceeded}}
	if _, err := other.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a timeout was absorbed: %v", err)
	}
}

type failConn struct {
	net.Conn
	err error
}

func (c *failConn) Write([]byte) (int, error) { return 0, c.err }

// TestStreamedPaths: the opt-out holds only for paths under the list both
// as sent and cleaned.
func TestStreamedPaths(t *testing.T) {
	b := newBufferer(BufferingConfig{InsecureStreamPaths: []string{"/events/", "/feed"}}.withDefaults(""), time.Minute, slog.New(slog.DiscardHandler))
	for p, want := range map[string]bool{
		"/events/":           true,
		"/events/x":          true,
		"/events":            true,
		"/feed":              true,
		"/feed/":             false,
		"/eventsx":           false,
		"/upload/":           false,
		"/events/../upload/": false,
		"/x/../events/":      false,
		"//events/":          false,
		"/events//x":         true,
	} {
		if got := b.streamed(p); got != want {
			t.Errorf("streamed(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestClientBodyAfterHandler: a streamed body read after the handler
// returned (by a transport still writing it) fails, and the connection's
// deadline, perhaps another request's by then, is not touched.
func TestClientBodyAfterHandler(t *testing.T) {
	b := newBufferer(BufferingConfig{InsecureStreamPaths: []string{"/s/"}}.withDefaults(""), time.Minute, slog.New(slog.DiscardHandler))
	w := &deadlineWriter{discardWriter{h: http.Header{}}, 0}
	var kept io.Reader
	h := b.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out, _ := b.prepare(w, r)
		kept = out.Body
		var one [1]byte
		if _, err := out.Body.Read(one[:]); err != nil {
			t.Fatal(err)
		}
	}))
	req, _ := http.NewRequest("POST", "https://example.com/s/x", io.NopCloser(strings.NewReader("abc")))
	h.ServeHTTP(w, req)
	calls := w.calls
	if calls == 0 {
		t.Fatal("no deadline set while the handler ran")
	}
	if _, err := kept.Read(make([]byte, 8)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Errorf("read after the handler: %v, want ErrBodyReadAfterClose", err)
	}
	if w.calls != calls {
		t.Errorf("a deadline was set after the handler returned")
	}
}
