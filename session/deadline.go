package session

import (
	"context"
	"sync"
	"time"
)

// DefaultStoreTimeout bounds each store call when Config.StoreTimeout is
// zero.
const DefaultStoreTimeout = time.Second

// callCtx is the context of one store call: the request's context with a
// deadline StoreTimeout after the call starts. It lives inside the
// request's state and costs no allocation unless the store asks for Done
// (network stores do, to watch for the deadline; the memory store only
// reads Err), which is what keeps the deadline off the allocation budget
// of the common request.
//
// A callCtx is reused by the calls of one request, one at a time (the
// state's mutex serialises them): begin arms it, end disarms it, as long
// as nobody holds a Done channel of it. Once one was handed out (a network
// store, a context derived from it, a store that kept the context past
// its call: pgx's pool reads Values from it in a background dial), the
// holder must go on reading the call that channel belongs to: after end,
// its channel is closed and Err reports Canceled for good, and the
// request's later calls get a context of their own (begin). Every field
// is read under mu.
type callCtx struct {
	mu         sync.Mutex
	parent     context.Context
	deadline   time.Time
	armed      bool
	done       chan struct{}
	err        error
	timer      *time.Timer
	stopParent func() bool
	own        context.CancelFunc // the call in progress has a context of its own
}

var _ context.Context = (*callCtx)(nil)

// begin arms c for one call bounded by d, or, when a Done channel of c
// was handed out before, returns a context of the call's own.
func (c *callCtx) begin(parent context.Context, d time.Duration) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		ctx, cancel := context.WithTimeout(parent, d)
		c.own = cancel
		return ctx
	}
	c.parent = parent
	c.deadline = time.Now().Add(d)
	c.armed = true
	c.err = nil
	return c
}

// end disarms c after the call (or cancels the call's own context).
func (c *callCtx) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.own != nil {
		c.own()
		c.own = nil
		return
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if c.stopParent != nil {
		c.stopParent()
		c.stopParent = nil
	}
	if c.done != nil && c.err == nil {
		// The call is over: release anyone still waiting on it, with an
		// error that stays (c is not armed again).
		c.err = context.Canceled
		close(c.done)
	}
	c.armed = false
}

// Deadline is the earlier of the call's deadline and the parent's.
func (c *callCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	parent, deadline := c.parent, c.deadline
	c.mu.Unlock()
	if parent == nil {
		return time.Time{}, false
	}
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		return d, true
	}
	return deadline, true
}

// Done makes the channel on first use, closed at the deadline or when the
// parent is done.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != nil {
		return c.done
	}
	c.done = make(chan struct{})
	if err := c.errLocked(); err != nil {
		c.err = err
		close(c.done)
		return c.done
	}
	done := c.done
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(done, context.DeadlineExceeded) })
	parent := c.parent
	c.stopParent = context.AfterFunc(parent, func() { c.cancel(done, context.Cause(parent)) })
	return c.done
}

// cancel closes done with err, unless c has moved on to another call.
func (c *callCtx) cancel(done chan struct{}, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done != done || c.err != nil {
		return
	}
	if err == nil {
		err = context.Canceled
	}
	c.err = err
	close(done)
}

// Err reports the parent's error, or DeadlineExceeded once the deadline
// has passed.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return c.errLocked()
}

func (c *callCtx) errLocked() error {
	if !c.armed {
		return context.Canceled // used after end: a store kept it
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

// Value is the parent's.
func (c *callCtx) Value(key any) any {
	c.mu.Lock()
	parent := c.parent
	c.mu.Unlock()
	if parent == nil {
		return nil
	}
	return parent.Value(key)
}
