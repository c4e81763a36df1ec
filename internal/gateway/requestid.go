package gateway

import (
	"context"
	"math/rand/v2"
	"net/http"
)

// requestID identifies one request in the access log, in the refusal
// events of every layer and on a refusal page (X-Request-Id), so that a
// user who quotes it leads the operator to the log lines. It is made by
// the gateway, never taken from the client (a client-chosen id would let
// one request pass for another in the logs). 64 random bits in hex:
// unique enough to find a line among a day's, and no secret.
type requestID [16]byte

func (id *requestID) fill() {
	const hex = "0123456789abcdef"
	n := rand.Uint64()
	for i := len(id) - 1; i >= 0; i-- {
		id[i] = hex[n&15]
		n >>= 4
	}
}

func (id *requestID) String() string { return string(id[:]) }

type requestIDKey struct{}

// requestIDContext carries the id inline, so that attaching it costs one
// allocation (the node) beside the request's shallow copy.
type requestIDContext struct {
	context.Context
	id requestID
}

func (c *requestIDContext) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return &c.id
	}
	return c.Context.Value(key)
}

func (c *requestIDContext) String() string { return "gateway.requestID" }

// withRequestID returns a shallow copy of r carrying a new request id.
func withRequestID(r *http.Request) (*http.Request, *requestID) {
	c := &requestIDContext{Context: r.Context()}
	c.id.fill()
	return r.WithContext(c), &c.id
}

// requestIDFrom returns the request id in ctx, if any.
func requestIDFrom(ctx context.Context) (*requestID, bool) {
	if ctx == nil {
		return nil, false
	}
	id, ok := ctx.Value(requestIDKey{}).(*requestID)
	return id, ok
}
