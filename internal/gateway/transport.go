package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// directTransport is the upstream RoundTripper of the gateway's common
// request: a bodiless GET, HEAD or OPTIONS to a plain-HTTP upstream. It
// writes the request and reads the answer on the calling goroutine, over a
// pool of kept-alive connections, with net/http's own request writer and
// response parser (Request.Write, http.ReadResponse). net/http's Transport
// gives every connection a read goroutine and a write goroutine and hands
// each request between them over channels; under load those hand-offs,
// their timers and contexts are a large part of a proxied request's cost
// (docs/benchmarks.md, "Cost per request"). Everything else (a request
// with a body, which may need writing while an early answer is read; an
// upgrade; an HTTPS upstream) goes to the full Transport, fallback.
//
// Only idempotent, bodiless requests take this path, so a request that
// fails on a kept-alive connection the upstream had closed (the write
// succeeds, the read finds the connection gone before a byte of answer)
// is sent once more on a new connection, as net/http's Transport does.
type directTransport struct {
	plain    bool   // the upstream speaks plain HTTP
	host     string // the upstream URL's host, as requests to it carry it
	addr     string // the address dialled (host:port)
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	fallback *http.Transport

	maxIdle           int
	idleTimeout       time.Duration
	respHeaderTimeout time.Duration // 0: none

	mu     sync.Mutex
	idle   []*directConn // most recently used last
	closed bool          // CloseIdleConnections was called: pool no more
}

// maxResponseHeaderBytes bounds an upstream answer's status line and
// headers, as net/http's Transport does by default (10 MiB there; an
// answer with more header than this is not one the gateway forwards).
const maxResponseHeaderBytes = 1 << 20

// max1xxResponses is how many informational answers (103 Early Hints)
// one request may get before its final answer (net/http's limit too).
const max1xxResponses = 5

var errTooMany1xx = errors.New("gateway: upstream sent too many 1xx responses")

func newDirectTransport(target *url.URL, dial func(ctx context.Context, network, addr string) (net.Conn, error), fallback *http.Transport, c UpstreamConfig) *directTransport {
	return &directTransport{
		plain:             target.Scheme == "http",
		host:              target.Host,
		addr:              dialAddr(target),
		dial:              dial,
		fallback:          fallback,
		maxIdle:           c.MaxIdleConns,
		idleTimeout:       90 * time.Second,
		respHeaderTimeout: c.ResponseHeaderTimeout,
	}
}

// directConn is one kept-alive upstream connection.
type directConn struct {
	net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	lim  int64 // bytes the reader may still take (the header bound)
	read int64 // bytes read since the request was written
	used time.Time
	peek idlePeeker
	// abort makes the connection's blocked reads and writes return: the
	// client went away (made once, not per request).
	abort func()
}

// Read is the bufio.Reader's source: it counts what the answer has read
// and enforces the header bound while lim is set.
func (c *directConn) Read(p []byte) (int, error) {
	if c.lim <= 0 {
		return 0, fmt.Errorf("gateway: upstream response header over %d bytes", maxResponseHeaderBytes)
	}
	if int64(len(p)) > c.lim {
		p = p[:c.lim]
	}
	n, err := c.Conn.Read(p)
	c.lim -= int64(n)
	c.read += int64(n)
	return n, err
}

// RoundTrip implements http.RoundTripper.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.direct(req) {
		// The full transport calls the proxy's informational-answer hook
		// itself: the edge's header is kept first (hooks added later
		// run first).
		if sw := edgeWriter(req); sw != nil {
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(int, textproto.MIMEHeader) error { sw.before1xx(); return nil },
			}))
		}
		return t.fallback.RoundTrip(req)
	}
	var info func(int, http.Header) error
	trace := httptrace.ContextClientTrace(req.Context())
	if trace != nil && trace.Got1xxResponse != nil {
		info = func(code int, h http.Header) error {
			if sw := edgeWriter(req); sw != nil {
				sw.before1xx()
			}
			return trace.Got1xxResponse(code, textproto.MIMEHeader(h))
		}
	}
	return t.exchange(req, info, trace != nil)
}

// roundTripDirect is RoundTrip for the gateway's own forwarder: info, if
// not nil, gets each informational answer.
func (t *directTransport) roundTripDirect(req *http.Request, info func(int, http.Header) error) (*http.Response, error) {
	if !t.direct(req) {
		return t.fallback.RoundTrip(req)
	}
	return t.exchange(req, info, false)
}

// exchange sends req on a kept-alive connection, or a new one. traced
// says the request carries a client trace, which only Request.Write
// reports to.
func (t *directTransport) exchange(req *http.Request, info func(int, http.Header) error, traced bool) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		c, reused, err := t.get(req.Context())
		if err != nil {
			return nil, err
		}
		res, err := t.roundTrip(c, req, info, traced)
		if err == nil {
			return res, nil
		}
		c.Close()
		// A kept-alive connection the upstream closed while it was idle:
		// nothing of an answer came back, and the request (idempotent,
		// bodiless) is sent again on a fresh connection, once.
		if reused && attempt == 0 && c.read == 0 && req.Context().Err() == nil && !errors.Is(err, errClientGone) {
			continue
		}
		return nil, err
	}
}

// takesInbound reports whether an inbound request will take the direct
// path once proxied: the same test as direct, made before the outbound
// request exists.
func (t *directTransport) takesInbound(r *http.Request) bool {
	return t.plain && bodilessIdempotent(r)
}

// direct reports whether req takes the direct path (see directTransport).
func (t *directTransport) direct(req *http.Request) bool {
	return req.URL.Scheme == "http" && req.URL.Host == t.host && bodilessIdempotent(req)
}

// bodilessIdempotent reports whether r is a GET, HEAD or OPTIONS without
// a body, trailers or a protocol switch: what the direct path carries.
func bodilessIdempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if r.Body != nil && r.Body != http.NoBody || r.ContentLength != 0 {
		return false
	}
	// ReverseProxy passes Upgrade on (with Connection: Upgrade) only for
	// a protocol switch, which needs the Transport's 101 handling.
	if _, ok := r.Header["Upgrade"]; ok {
		return false
	}
	return len(r.TransferEncoding) == 0 && len(r.Trailer) == 0
}

func (t *directTransport) roundTrip(c *directConn, req *http.Request, info func(int, http.Header) error, traced bool) (*http.Response, error) {
	ctx := req.Context()
	// The client went away: the upstream request is abandoned as the
	// Transport abandons it, by closing the connection under it.
	w, err := watchClient(req, c)
	if err != nil {
		return nil, err
	}
	c.read, c.lim = 0, maxResponseHeaderBytes
	if t.respHeaderTimeout > 0 {
		c.SetReadDeadline(time.Now().Add(t.respHeaderTimeout))
	}
	if traced || !writeRequestHead(c.bw, req) {
		if err := req.Write(c.bw); err != nil {
			w.stop()
			return nil, w.cause(ctx, err)
		}
	}
	if err := c.bw.Flush(); err != nil {
		w.stop()
		return nil, w.cause(ctx, err)
	}
	var res *http.Response
	for n := 0; ; n++ {
		res, err = http.ReadResponse(c.br, req)
		if err != nil {
			w.stop()
			return nil, w.cause(ctx, err)
		}
		code := res.StatusCode
		if code >= 200 || code == http.StatusSwitchingProtocols {
			break
		}
		if n == max1xxResponses {
			w.stop()
			return nil, errTooMany1xx
		}
		if info != nil {
			if err := info(code, res.Header); err != nil {
				w.stop()
				return nil, err
			}
		}
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		w.stop()
		return nil, errors.New("gateway: upstream switched protocols without an upgrade request")
	}
	c.lim = 1<<63 - 1
	if t.respHeaderTimeout > 0 {
		c.SetReadDeadline(time.Time{})
	}
	keep := !res.Close && !req.Close
	if res.Body == http.NoBody || res.Body == nil {
		t.release(c, keep && w.stop())
		return res, nil
	}
	res.Body = &directBody{rc: res.Body, t: t, c: c, keep: keep, w: w}
	return res, nil
}

// clientWatch aborts an upstream request when its client goes away: on
// an HTTP/1 connection of the gateway's, through the connection itself
// (framedConn.watchGone); elsewhere (HTTP/2, a request from outside the
// gateway's listeners) through the request's context.
type clientWatch struct {
	fc        *framedConn
	afterFunc func() bool
}

// watchClient starts watching req's client for c, or reports the client
// gone already.
func watchClient(req *http.Request, c *directConn) (clientWatch, error) {
	if req.ProtoMajor == 1 {
		if fc := framedConnOf(req); fc != nil {
			if !fc.watchGone(c.abort) {
				return clientWatch{}, errClientGone
			}
			return clientWatch{fc: fc}, nil
		}
	}
	return clientWatch{afterFunc: context.AfterFunc(req.Context(), c.abort)}, nil
}

// stop ends the watch; it reports false when the client went and the
// connection was (or is being) aborted: it is not used again.
func (w clientWatch) stop() bool {
	if w.fc != nil {
		return w.fc.unwatchGone()
	}
	return w.afterFunc()
}

// cause is the error of an upstream exchange that failed with err:
// errClientGone, or the context's error, when the client went away, so
// that it is reported as the client's doing, never the upstream's.
func (w clientWatch) cause(ctx context.Context, err error) error {
	if w.fc != nil && w.fc.isGone() {
		return errClientGone
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// errClientGone is the error of an upstream exchange abandoned because the
// gateway's connection found its client gone (the request's context may
// not say so: see readahead.go).
var errClientGone = fmt.Errorf("gateway: the client went away: %w", context.Canceled)

// edgeWriter is the gateway's response writer of the request, nil when
// the request did not come through observe.
func edgeWriter(req *http.Request) *statusWriter {
	sw, _ := reqstate.From(req).Edge().(*statusWriter)
	return sw
}

// get returns an idle connection, newest first (a connection idle for
// longer than idleTimeout is closed instead), or dials one.
func (t *directTransport) get(ctx context.Context) (c *directConn, reused bool, err error) {
	now := time.Now()
	t.mu.Lock()
	for len(t.idle) > 0 {
		n := len(t.idle) - 1
		c = t.idle[n]
		t.idle[n] = nil
		t.idle = t.idle[:n]
		if now.Sub(c.used) >= t.idleTimeout {
			c.Close()
			continue
		}
		t.mu.Unlock()
		// An upstream that wrote while the connection was idle (an
		// answer longer than its framing said, or one nobody asked
		// for) would have those bytes read as the next request's
		// answer: another client's answer, maybe. Such a connection,
		// or one the upstream closed, is not used again.
		if c.peek.clean() {
			return c, true, nil
		}
		c.Close()
		t.mu.Lock()
	}
	t.mu.Unlock()
	nc, err := t.dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, false, err
	}
	c = &directConn{Conn: nc}
	c.abort = func() { nc.SetDeadline(aLongTimeAgo) }
	c.peek.init(nc)
	c.br = bufio.NewReaderSize(c, 4<<10)
	c.bw = bufio.NewWriterSize(nc, 4<<10)
	return c, false, nil
}

// release returns c to the pool when keep is set and the pool has room,
// else closes it.
func (t *directTransport) release(c *directConn, keep bool) {
	if keep && c.br.Buffered() == 0 {
		c.used = time.Now()
		t.mu.Lock()
		if !t.closed && len(t.idle) < t.maxIdle {
			t.idle = append(t.idle, c)
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
	c.Close()
}

// CloseIdleConnections closes the pooled connections and the fallback's,
// and ends pooling: it retires the transport of a tree a reload replaced
// (a request still running in it closes its connection when done).
func (t *directTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle, t.closed = nil, true
	t.mu.Unlock()
	for _, c := range idle {
		c.Close()
	}
	t.fallback.CloseIdleConnections()
}

// directBody is an answer's body: read to its end, it gives its connection
// back to the pool; closed before that, the connection is closed (what is
// left of the answer would be read as the next one's).
type directBody struct {
	rc   io.ReadCloser
	t    *directTransport
	c    *directConn
	keep bool
	w    clientWatch
	done bool
}

func (b *directBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		b.t.release(b.c, b.keep && b.w.stop())
	} else if err != nil {
		b.finish()
	}
	return n, err
}

func (b *directBody) Close() error {
	b.finish()
	return nil
}

func (b *directBody) finish() {
	if b.done {
		return
	}
	b.done = true
	b.w.stop()
	b.c.Close()
}

// aLongTimeAgo is a deadline in the past: set on a connection, it makes
// blocked reads and writes return at once.
var aLongTimeAgo = time.Unix(1, 0)

// dialAddr is the host:port a request to u is sent to (the scheme's port
// when u names none).
func dialAddr(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
