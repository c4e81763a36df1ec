package gateway

// keyError is a configuration error about one key of the gateway's own
// sections. Key names it ("https.redirect_port"): bulwark check matches
// the error with the finding it made on that key by this method, not by
// the message's words, and reports it once.
type keyError struct {
	key string
	err error
}

// invalidKey is invalid for a problem of one key.
func invalidKey(key, format string, args ...any) error {
	return &keyError{key: key, err: invalid(format, args...)}
}

func (e *keyError) Error() string { return e.err.Error() }
func (e *keyError) Unwrap() error { return e.err }

// Key is the TOML key the error is about.
func (e *keyError) Key() string { return e.key }
