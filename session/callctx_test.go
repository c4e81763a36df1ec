package session

import (
	"context"
	"testing"
	"time"
)

// A context derived from a store call's context (as a network client
// derives its own) is watched by a goroutine of the context package, which
// reads Err once Done closes. It must read the error of the call that
// closed it even when the request's next call began in between (a context
// whose Done is closed and whose Err is nil makes the context package
// panic), and a later call must not revive it.
func TestCallCtxDerivedOutlivesCall(t *testing.T) {
	var c callCtx
	for i := range 2000 {
		ctx := c.begin(context.Background(), time.Minute)
		child, cancel := context.WithCancel(valueOnly{ctx})
		c.end()
		next := c.begin(context.Background(), time.Minute) // at once, as update's Find then Commit
		select {
		case <-child.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("call %d: a context derived from an ended call is still live", i)
		}
		if child.Err() == nil || ctx.Err() == nil {
			t.Fatalf("call %d: ended, with no error", i)
		}
		if next.Err() != nil {
			t.Fatalf("call %d: the next call's context is done: %v", i, next.Err())
		}
		c.end()
		cancel()
	}
}

// valueOnly hides a context's type, so that the context package watches
// it from a goroutine (Done, then Err), as it does any context it does
// not know.
type valueOnly struct{ context.Context }
