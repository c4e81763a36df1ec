package gateway

import "sync/atomic"

var readAheadsDeferred atomic.Int64

func init() {
	count := func() { readAheadsDeferred.Add(1) }
	readAheadDeferred.Store(&count)
}

// ReadAheadsDeferred is how many of net/http's read-aheads the gateway's
// connections have deferred so far in this test binary (readahead.go).
func ReadAheadsDeferred() int64 { return readAheadsDeferred.Load() }
