package limits

import (
	"io"
	"log/slog"
	"net/http"
)

// body is r.Body capped at max bytes, like http.MaxBytesReader but failing
// with our typed error and logging the refusal once. The count is of bytes
// actually delivered, so a missing or understated Content-Length cannot
// bypass it.
type body struct {
	rc   io.ReadCloser
	n    int64 // bytes still allowed
	max  int64
	err  error
	w    http.ResponseWriter
	r    *http.Request
	lg   *slog.Logger
	logs bool // logs the refusal when it detects it (the Handler's body)
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell "exactly at the cap" from
	// "over it" without buffering.
	if int64(len(p))-1 > b.n {
		p = p[:b.n+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.n {
		b.n -= int64(n)
		b.err = err
		return n, err
	}
	n = int(b.n)
	b.n = 0
	// The error says whether its event is out already, from its
	// creation on: WriteError must not log the same refusal twice.
	e := &Error{Kind: ErrBodyTooLarge, Limit: KeyBody, Value: b.max, reported: b.logs}
	b.err = e
	if b.logs {
		logRefusal(b.lg, b.r, e)
		// Ask the server to close the connection rather than drain an
		// attacker-sized remainder (effective when headers are unsent).
		b.w.Header().Set("Connection", "close")
	}
	return n, e
}

func (b *body) Close() error { return b.rc.Close() }

// NewReader returns rc capped at max bytes (negative: no cap); reading past
// the cap fails with an *Error wrapping ErrBodyTooLarge. It does not log.
func NewReader(rc io.ReadCloser, max int64) io.ReadCloser {
	if max < 0 {
		return rc
	}
	return &body{rc: rc, n: max, max: max, w: discardHeaders{}, lg: slog.New(slog.DiscardHandler), r: &http.Request{}}
}

type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(p []byte) (int, error) { return len(p), nil }
func (discardHeaders) WriteHeader(int)             {}
