package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Request framing as it arrived, read off the connection.
//
// RFC 9112 section 6.1: a request with both Content-Length and
// Transfer-Encoding, or an HTTP/1.0 request with Transfer-Encoding, may be
// an attempt at request smuggling; a server must treat its framing as
// faulty and close the connection. net/http lets Transfer-Encoding win and
// deletes Content-Length (or, for HTTP/1.0, ignores Transfer-Encoding)
// before any handler runs, so a handler cannot tell such a request from a
// well-framed one. The gateway therefore reads the framing headers off the
// connection itself: every HTTP/1 connection of its listeners is a
// framedConn, which watches the bytes net/http reads and notes, for each
// request head, whether it carried Content-Length, Transfer-Encoding and
// which HTTP version. connHandler claims the note of each request, and
// the canonicalizer refuses a faulty one with 400 (event header_refused, reason
// content_length_with_transfer_encoding or transfer_encoding_http10) and
// closes the connection.
//
// The watcher keeps no copy of the bytes: a few counters and the first
// bytes of each line. It follows message boundaries as net/http does for
// requests it accepts (the head to its empty line, then Content-Length
// bytes of body); after a request with Transfer-Encoding it stops, since
// that connection is closed after the answer (see the canonicalizer), and
// it stops for good on anything it cannot follow (an upgraded connection,
// an oversized head). A request whose note is missing or does not match
// is answered and its connection closed: the gateway never guesses.

// framing is what a request head said about its framing.
type framing struct {
	method    [16]byte // the request method (cut to 16 bytes)
	methodLen uint8
	http10    bool // below HTTP/1.1 (HTTP/1.0, HTTP/0.9...)
	cl, te    bool // Content-Length, Transfer-Encoding present
	star      bool // "OPTIONS *": net/http answers it without a handler
}

// faulty returns the refusal reason for a head whose framing RFC 9112
// calls faulty, or "".
func (f *framing) faulty() string {
	switch {
	case f.te && f.http10:
		return "transfer_encoding_http10" // RFC 9112 section 6.1
	case f.te && f.cl:
		return "content_length_with_transfer_encoding"
	}
	return ""
}

// Watcher states.
const (
	inHead  = iota // reading a request head
	inBody         // skipping a Content-Length body
	stopped        // not following this connection any more
)

// maxWatchedHead bounds a head the watcher follows; net/http refuses one
// longer than Timeouts.MaxHeaderBytes (plus its 4 KiB of slack) anyway.
const maxWatchedHead = 1 << 20

// watcher follows request boundaries in the bytes of a connection.
type watcher struct {
	state   int
	body    int64 // body bytes left (inBody)
	headLen int   // bytes of the current head

	lineLen int      // bytes of the current line (\r excluded)
	line    [20]byte // its first bytes
	tail    [9]byte  // its last bytes, for the request line's version
	first   bool     // the current line is the request line
	clValue int64    // the Content-Length value being read
	clState int      // 0 no CL line; 1 in value, digits so far; 2 value done
	cur     framing  // the head being read

	// notes are the heads read and not claimed yet: a ring of
	// notesN from notes[oldest] (no allocation per request).
	notes  [16]framing
	oldest int
	notesN int
}

func (wt *watcher) reset() {
	wt.headLen, wt.lineLen, wt.first, wt.clValue, wt.clState = 0, 0, true, -1, 0
	wt.cur = framing{}
}

// feed follows p, the next bytes of the connection.
func (wt *watcher) feed(p []byte) {
	for len(p) > 0 {
		switch wt.state {
		case stopped:
			return
		case inBody:
			n := int64(len(p))
			if n > wt.body {
				n = wt.body
			}
			wt.body -= n
			p = p[n:]
			if wt.body == 0 {
				wt.state = inHead
				wt.reset()
			}
		case inHead:
			c := p[0]
			p = p[1:]
			wt.headLen++
			if wt.headLen > maxWatchedHead {
				wt.state = stopped
				return
			}
			wt.headByte(c)
		}
	}
}

// headByte takes one byte of a head.
func (wt *watcher) headByte(c byte) {
	if c == '\r' {
		return // net/textproto accepts "\n" and "\r\n" line ends
	}
	if c != '\n' {
		if wt.lineLen < len(wt.line) {
			wt.line[wt.lineLen] = c
		}
		copy(wt.tail[:], wt.tail[1:])
		wt.tail[len(wt.tail)-1] = c
		wt.lineLen++
		if wt.clState == 1 {
			switch {
			case c >= '0' && c <= '9' && wt.clValue < 1<<40:
				if wt.clValue < 0 {
					wt.clValue = 0
				}
				wt.clValue = wt.clValue*10 + int64(c-'0')
			case c == ' ' || c == '\t':
			default:
				wt.clState = 3 // not a length net/http accepts
			}
		}
		if c == ':' && !wt.first {
			switch name := wt.line[:min(wt.lineLen, len(wt.line))]; {
			case asciiEqualFold(name, "content-length:"):
				wt.cur.cl = true
				if wt.clState == 0 {
					wt.clState = 1
				}
			case asciiEqualFold(name, "transfer-encoding:"):
				wt.cur.te = true
			}
		}
		return
	}
	// End of a line.
	switch {
	case wt.lineLen == 0 && !wt.first:
		wt.endHead()
		return
	case wt.first:
		wt.requestLine()
		wt.first = false
	}
	if wt.clState == 1 {
		wt.clState = 2
	}
	wt.lineLen = 0
	wt.tail = [9]byte{}
}

// requestLine notes the method, the version and the asterisk form.
func (wt *watcher) requestLine() {
	n := wt.lineLen
	if n > len(wt.line) {
		n = len(wt.line)
	}
	l := wt.line[:n]
	for i, c := range l {
		if c == ' ' {
			l = l[:i]
			break
		}
	}
	wt.cur.methodLen = uint8(copy(wt.cur.method[:], l))
	wt.cur.star = n >= len("OPTIONS * ") && string(wt.line[:len("OPTIONS * ")]) == "OPTIONS * "
	// Below HTTP/1.1 net/http ignores Transfer-Encoding (and then reads
	// the chunked body as the next request): "HTTP/1.0", "HTTP/0.9" and
	// any other "HTTP/x.y" below 1.1.
	v := wt.tail[len(wt.tail)-8:]
	if string(v[:5]) == "HTTP/" && v[6] == '.' {
		wt.cur.http10 = v[5] < '1' || v[5] == '1' && v[7] < '1'
	}
}

// endHead records the head and moves to its body.
func (wt *watcher) endHead() {
	if wt.notesN == len(wt.notes) {
		// A client pipelining far ahead: stop following (its later
		// requests then close the connection, see claim).
		wt.state = stopped
		return
	}
	wt.notes[(wt.oldest+wt.notesN)%len(wt.notes)] = wt.cur
	wt.notesN++
	switch {
	case wt.cur.te:
		// Chunked (closed after the answer) or refused: nothing more on
		// this connection is a request.
		wt.state = stopped
	case wt.cur.cl && wt.clState == 2 && wt.clValue > 0:
		wt.state, wt.body = inBody, wt.clValue
	case wt.cur.cl && wt.clState != 2:
		wt.state = stopped // a length net/http refuses: it closes
	default:
		wt.reset()
	}
}

// asciiEqualFold reports whether b is s, ignoring ASCII case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// claim takes the note of the request r handles: the oldest note that
// net/http hands to a handler (it answers "OPTIONS *" itself). ok is false
// when there is none or it does not match r.
func (wt *watcher) claim(r *http.Request) (f framing, ok bool) {
	for wt.notesN > 0 {
		f = wt.notes[wt.oldest]
		wt.oldest = (wt.oldest + 1) % len(wt.notes)
		wt.notesN--
		if f.star && r.RequestURI != "*" {
			continue
		}
		if string(f.method[:f.methodLen]) != methodPrefix(r.Method, len(f.method)) {
			return framing{}, false
		}
		return f, true
	}
	return framing{}, false
}

// framedConn is an HTTP/1 connection whose request framing is watched.
type framedConn struct {
	net.Conn
	tls *tls.ConnectionState // the handshake's state; nil on plain HTTP

	mu sync.Mutex
	w  watcher
	// onGone, while set, is called once when a read finds the client
	// gone; gone records that a read has. See watchGone.
	onGone func()
	gone   bool

	// The deferred read-ahead (readahead.go).
	lazy           bool          // the request running may defer net/http's read-ahead
	deferred       bool          // it did
	readAheadTimer *time.Timer   // starts the deferred read; made once
	reading        chan struct{} // the deferred read runs; closed when done
	early          []byte        // what it read, for net/http's next read
	hasEarly       atomic.Bool   // len(early) > 0, read without the lock
}

func newFramedConn(c net.Conn, st *tls.ConnectionState) *framedConn {
	fc := &framedConn{Conn: c, tls: st}
	fc.w.reset()
	return fc
}

// Read reads from the connection and watches what net/http reads.
func (c *framedConn) Read(b []byte) (int, error) {
	if len(b) == 1 && c.deferReadAhead() {
		return 0, nil // net/http's read-ahead: deferred (readahead.go)
	}
	if c.hasEarly.Load() && len(b) > 0 {
		return c.takeEarly(b), nil
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.mu.Lock()
		c.w.feed(b[:n])
		c.mu.Unlock()
	}
	if err != nil {
		c.readFailed(err)
	}
	return n, err
}

// readFailed marks the client gone on a read error, as net/http's server
// does in the read it keeps open while a handler runs, and runs the
// watcher's hook. A timeout is not the client's doing: net/http times out
// that read itself when the handler is done (it ignores that error too).
func (c *framedConn) readFailed(err error) {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return
	}
	c.mu.Lock()
	c.gone = true
	f := c.onGone
	c.onGone = nil
	c.mu.Unlock()
	if f != nil {
		f()
	}
}

// watchGone has f called when a read finds the client gone, until
// unwatchGone; it reports false, and does not keep f, when the client is
// gone already. It serves the upstream transport: an HTTP/1 request's
// context is cancelled when the client goes (net/http's server finds out
// in a read of this connection), and reading that here costs nothing per
// request, where a hook on the context (context.AfterFunc) costs four
// allocations and locks.
func (c *framedConn) watchGone(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return false
	}
	c.onGone = f
	return true
}

// unwatchGone drops the hook watchGone set; it reports whether the hook
// was still there (false: the client went, and the hook ran or runs).
func (c *framedConn) unwatchGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.onGone != nil
	c.onGone = nil
	return kept
}

// isGone reports whether a read found the client gone.
func (c *framedConn) isGone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gone
}

// CloseWrite half-closes the connection when the wrapped one can (a
// *tls.Conn or *net.TCPConn): net/http does so before closing after an
// error answer, so that the answer is not lost to a reset.
func (c *framedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// claim is watcher.claim under the lock.
func (c *framedConn) claim(r *http.Request) (framing, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.claim(r)
}

type framedConnKey struct{}

// connContext is the servers' ConnContext: it makes a framedConn
// findable from its requests.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if fc, ok := c.(*framedConn); ok {
		return context.WithValue(ctx, framedConnKey{}, fc)
	}
	return ctx
}

// framedConnOf returns the framedConn r arrived on, or nil.
func framedConnOf(r *http.Request) *framedConn {
	fc, _ := r.Context().Value(framedConnKey{}).(*framedConn)
	return fc
}

// framingVerdict is what connHandler found wrong with a request's
// framing: a refusal reason, or framingUnknown.
type framingVerdict string

// framingUnknown: the request's note is missing or does not match it.
const framingUnknown framingVerdict = "unknown"

type framingVerdictKey struct{}

// framingVerdictOf returns connHandler's verdict on r ("" when its
// framing is sound or was not watched).
func framingVerdictOf(r *http.Request) framingVerdict {
	v, _ := r.Context().Value(framingVerdictKey{}).(framingVerdict)
	return v
}

// connHandler runs first on the gateway's listeners, where net/http hands
// a request over. For a request that arrived on a framedConn, it claims
// the request's framing note (every such request, whatever answers it
// later, so that notes and requests stay paired) and hands a verdict to
// the canonicalizer when there is one (a context value, made only then);
// over TLS it gives the request its r.TLS, which net/http sets only for a
// *tls.Conn (a framedConn wraps one), as net/http itself would have.
func connHandler(next http.Handler, lazy func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fc := framedConnOf(r)
		if fc == nil || r.ProtoMajor != 1 {
			next.ServeHTTP(w, r)
			return
		}
		if lazy != nil {
			fc.beginRequest(lazy(r))
			defer fc.endRequest()
		}
		if r.TLS == nil && fc.tls != nil {
			r.TLS = fc.tls // shared by the connection's requests; nobody writes it
		}
		var v framingVerdict
		if f, ok := fc.claim(r); !ok {
			v = framingUnknown
		} else {
			v = framingVerdict(f.faulty())
		}
		if v != "" {
			r = r.WithContext(context.WithValue(r.Context(), framingVerdictKey{}, v))
		}
		next.ServeHTTP(w, r)
	})
}

// plainListener hands out its connections as framedConns.
type plainListener struct{ net.Listener }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newFramedConn(c, nil), nil
}

// tlsListener accepts TCP connections and completes each TLS handshake in
// a goroutine of its own, bounded by timeout (as net/http bounds it by the
// header timeout), then hands out the *tls.Conn for HTTP/2 (and the ACME
// TLS-ALPN protocol), so that net/http serves those as it always does, or
// a framedConn for HTTP/1.
type tlsListener struct {
	inner   net.Listener
	conf    *tls.Config
	timeout time.Duration
	errLog  *log.Logger // failed handshakes, as net/http logs them

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

func newTLSListener(inner net.Listener, conf *tls.Config, timeout time.Duration, errLog *log.Logger) *tlsListener {
	l := &tlsListener{inner: inner, conf: conf, timeout: timeout, errLog: errLog, conns: make(chan net.Conn), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				l.fail(err)
				return
			}
			// Out of file descriptors and the like: back off as
			// net/http does, and keep serving.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay < time.Second {
				delay *= 2
			}
			select {
			case <-time.After(delay):
				continue
			case <-l.done:
				return
			}
		}
		delay = 0
		go l.handshake(c)
	}
}

func (l *tlsListener) handshake(raw net.Conn) {
	tc := tls.Server(raw, l.conf)
	if l.timeout > 0 {
		tc.SetDeadline(time.Now().Add(l.timeout))
	}
	if err := tc.Handshake(); err != nil {
		if l.errLog != nil {
			l.errLog.Printf("http: TLS handshake error from %s: %v", raw.RemoteAddr(), err)
		}
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	var c net.Conn = tc
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p == "" || p == "http/1.1" {
		c = newFramedConn(tc, &st)
	}
	select {
	case l.conns <- c:
	case <-l.done:
		tc.Close()
	}
}

func (l *tlsListener) fail(err error) {
	l.errMu.Lock()
	if l.err == nil {
		l.err = err
	}
	l.errMu.Unlock()
	l.Close()
}

// Accept returns the next connection whose handshake completed.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections mid-handshake are closed.
func (l *tlsListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the inner listener's address.
func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }

// methodPrefix is the part of method a note keeps: its first n bytes.
func methodPrefix(method string, n int) string {
	if len(method) > n {
		return method[:n]
	}
	return method
}
