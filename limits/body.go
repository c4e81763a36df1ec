package limits

import (
	"io"
	"log/slog"
	"net/http"
	"path"
)

// body is r.Body capped at max bytes, like http.MaxBytesReader but failing
// with our typed error and logging the refusal once. The count is of bytes
// actually delivered, so a missing or understated Content-Length cannot
// bypass it.
type body struct {
	rc     io.ReadCloser
	n      int64 // bytes still allowed
	max    int64
	err    error
	w      http.ResponseWriter
	r      *http.Request
	lg     *slog.Logger
	logged bool
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
	e := newError(ErrBodyTooLarge, KeyBody, b.max)
	b.err = e
	if !b.logged {
		b.logged = true
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
	return &body{rc: rc, n: max, max: max, w: discardHeaders{}, lg: slog.New(slog.DiscardHandler), r: &http.Request{}, logged: true}
}

type discardHeaders struct{}

func (discardHeaders) Header() http.Header         { return http.Header{} }
func (discardHeaders) Write(p []byte) (int, error) { return len(p), nil }
func (discardHeaders) WriteHeader(int)             {}

// cleanPath resolves dot segments and duplicate slashes as ServeMux does,
// keeping a trailing slash. It does not allocate for clean paths.
func cleanPath(p string) string {
	if isClean(p) {
		return p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		rest := p[i+1:]
		if len(rest) > 0 && rest[0] == '/' {
			return false
		}
		if rest == "." || rest == ".." || len(rest) >= 2 && rest[:2] == "./" || len(rest) >= 3 && rest[:3] == "../" {
			return false
		}
	}
	return true
}
