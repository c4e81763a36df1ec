package gateway

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
)

// earlyAnswerDialer wraps the upstream dialer so that an upstream's early
// answer reaches the client. An application may answer before it reads
// the request body (a 403 from a view that checks permissions first), and
// an application server such as gunicorn then closes the connection with
// the body unread, so that the kernel resets it. The gateway, still
// writing the body, gets EPIPE or ECONNRESET; net/http's transport,
// seeing the write fail, reports the failure, and the client would get a
// 502 for a request the application answered. The wrapped connection
// takes such a write failure as "the upstream stopped reading": the
// failed write and every later one report success and send nothing, and
// the transport goes on to read the answer already received. If there is
// none (the upstream crashed), that read fails and the failure is
// reported as before.
//
// Only these two errors are absorbed, and only until a read fails (the
// answer, if any, has then been read): a connection that fails to
// connect, or times out, fails as it would, and a write on a connection
// known dead fails with nothing written, so that the transport retries a
// request that took it from the idle pool. (The transport does not pool a
// connection whose answer says Connection: close, as gunicorn's sync
// workers' answers do.)
func earlyAnswerDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &earlyAnswerConn{Conn: c}, nil
	}
}

type earlyAnswerConn struct {
	net.Conn
	peerGone atomic.Bool  // a write failed with EPIPE or ECONNRESET
	readDone atomic.Bool  // a read failed: the answer, if any, is consumed
	writeErr atomic.Value // the absorbed error
}

func (c *earlyAnswerConn) Write(p []byte) (int, error) {
	if c.peerGone.Load() {
		if c.readDone.Load() {
			// The connection is known dead and its answer read: a
			// write now is a new request on a connection the transport
			// took from its pool before noticing; fail it with nothing
			// written, so that the transport retries it elsewhere.
			return 0, c.writeErr.Load().(error)
		}
		return len(p), nil
	}
	n, err := c.Conn.Write(p)
	if err != nil && (errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		c.writeErr.Store(err)
		c.peerGone.Store(true)
		return len(p), nil
	}
	return n, err
}

func (c *earlyAnswerConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.readDone.Store(true)
	}
	return n, err
}
