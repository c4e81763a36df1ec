package gateway

// ReadAheadsDeferred is how many of net/http's read-aheads the gateway's
// connections have deferred so far (readahead.go).
func ReadAheadsDeferred() int64 { return readAheadsDeferred.Load() }
