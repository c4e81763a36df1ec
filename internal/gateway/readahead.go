package gateway

import (
	"net/http"
	"sync/atomic"
	"time"
)

// net/http's server, for every HTTP/1 request, starts a goroutine that
// keeps a one-byte read open on the connection while the handler runs: a
// failed read tells it that the client went away (it cancels the
// request's context), a byte read is the start of a pipelined request.
// When the handler is done the server times that read out with a deadline
// in the past and waits for the goroutine. Parking it in the poller with
// a read that finds nothing, waking it and waiting for it cost about a
// tenth of a proxied request's CPU (docs/benchmarks.md, "Cost per
// request"), nearly all of it for requests that end within a millisecond,
// long before a gone client could matter.
//
// So for a request the gateway's direct path will carry (which watches for
// a gone client through the connection, not the context), the framedConn
// answers that one-byte read at once with nothing (net/http takes that as
// "no news" and ends the goroutine), and keeps the read itself for later:
// only when the request is still running after readAheadAfter does it
// start one read of its own, which finds a gone client (and aborts the
// upstream request through watchGone's hook) or keeps the byte it read
// for net/http's next read. The handler's end stops that read before
// net/http reads the connection again. Every other request keeps net/http's
// own read, unchanged.
//
// TestReadAheadSkipped fails if net/http stops making that one-byte read
// the way this relies on.

// readAheadAfter is how long a direct-path request runs before the
// connection is read for a gone client: the longest a gone client's
// upstream request can go on unnoticed.
const readAheadAfter = 50 * time.Millisecond

// readAheadDeferred, when set (by the tests), is called for every
// read-ahead deferred. A hook rather than a counter: a counter every
// request writes would be a cache line the cores pass back and forth.
var readAheadDeferred atomic.Pointer[func()]

// beginRequest starts a request on c; lazy says its read-ahead may be
// deferred (see above).
func (c *framedConn) beginRequest(lazy bool) {
	c.mu.Lock()
	c.lazy, c.deferred = lazy, false
	c.mu.Unlock()
}

// endRequest ends the request begun last: its own read, if one was
// started, is stopped and waited for, so that nothing reads the
// connection when net/http does again.
func (c *framedConn) endRequest() {
	c.mu.Lock()
	c.lazy = false
	if c.deferred && c.readAheadTimer != nil {
		c.readAheadTimer.Stop()
	}
	done := c.reading
	c.mu.Unlock()
	if done != nil {
		c.Conn.SetReadDeadline(aLongTimeAgo)
		<-done
		c.Conn.SetReadDeadline(time.Time{})
	}
}

// deferReadAhead reports whether net/http's one-byte read is answered
// with nothing: the request is a lazy one and its read is not deferred
// yet. The deferred read starts after readAheadAfter.
func (c *framedConn) deferReadAhead() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lazy || c.deferred || c.gone {
		return false
	}
	c.deferred = true
	if f := readAheadDeferred.Load(); f != nil {
		(*f)()
	}
	if c.readAheadTimer == nil {
		c.readAheadTimer = time.AfterFunc(readAheadAfter, c.readAhead)
	} else {
		c.readAheadTimer.Reset(readAheadAfter)
	}
	return true
}

// readAhead is the deferred read: one read of the connection while the
// request still runs. A byte read waits for net/http's next read; a
// failed read marks the client gone (readFailed); the timeout endRequest
// causes is neither.
func (c *framedConn) readAhead() {
	c.mu.Lock()
	if !c.lazy || !c.deferred || c.reading != nil || len(c.early) > 0 {
		c.mu.Unlock()
		return
	}
	done := make(chan struct{})
	c.reading = done
	c.mu.Unlock()

	var b [1]byte
	n, err := c.Conn.Read(b[:])
	c.mu.Lock()
	if n > 0 {
		c.early = append(c.early, b[0])
		c.hasEarly.Store(true)
	}
	c.reading = nil
	c.mu.Unlock()
	close(done)
	if err != nil {
		c.readFailed(err)
	}
}

// takeEarly copies the bytes the deferred read took into b (the framing
// watcher sees them now, as net/http reads them).
func (c *framedConn) takeEarly(b []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := copy(b, c.early)
	c.early = c.early[:copy(c.early, c.early[n:])]
	if len(c.early) == 0 {
		c.hasEarly.Store(false)
	}
	c.w.feed(b[:n])
	return n
}

// lazyReadAhead reports whether a request's read-ahead may be deferred:
// it will take the gateway's direct path.
func (g *Gateway) lazyReadAhead(r *http.Request) bool {
	t := g.tree.Load()
	return t != nil && t.fwd.takes(r)
}
