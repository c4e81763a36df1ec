package gateway

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/internal/limitsrefusal"
	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/spool"
	"github.com/bulwarkdev/bulwark/limits"
)

// BufferingConfig is the [buffering] section: request bodies are read in
// full by the gateway (in memory, then in a private temporary file)
// before the upstream sees a byte of them, as nginx does in front of
// gunicorn, whose sync workers must not wait on a slow client: a client
// that trickles its body holds a gateway goroutine and a file
// descriptor, never an application worker.
//
// Reading is bounded three ways: the body cap of [limits] (413), a wait
// of IdleTimeout for each read (408), and timeouts.read for the whole
// body, counted from the end of the request headers (408). A malformed
// body (a broken chunked encoding) is a 400, and a client that closes the
// connection before the end of its body gets a 400 too: these are the
// client's faults, logged as one refusal each (event request_body_refused,
// or request_too_large from [limits]), never as upstream errors. A
// request's trailers are not forwarded (the body goes on with a
// Content-Length).
type BufferingConfig struct {
	// MemoryBytes is how much of a body is held in memory; the rest goes
	// to a private temporary file (a file without a name: O_TMPFILE, or
	// unlinked on creation). Zero means 64 KiB; it must not be negative
	// nor above 16 MiB (every request in flight may hold this much). A
	// body the upload layer reads first (on uploads.paths, every path by
	// default, for multipart and raw bodies) is held by that layer the
	// same way, 64 KiB in memory then a file in uploads.temp_dir, and is
	// not copied again.
	MemoryBytes int `toml:"memory_bytes"`
	// IdleTimeout bounds the wait for each read of a body: a client that
	// sends nothing for this long is answered 408. Zero means 10s.
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// TempDir is where bodies larger than MemoryBytes are spooled. Empty
	// means uploads.temp_dir when set, else the system's temporary
	// directory. The files have no name, so nothing is left behind.
	TempDir string `toml:"temp_dir"`
	// InsecureStreamPaths are paths (the one path grammar of the
	// configuration: "/x/" is a prefix, "/x" exact; a request's path must
	// be under one both as sent and cleaned) whose bodies are streamed to
	// the upstream as they arrive instead of buffered: for
	// endpoints that consume a long stream as it comes. A slow client on
	// such a path holds an application worker for up to timeouts.read:
	// only list paths served by an upstream that does not block a worker
	// per request (asynchronous workers). The idle and total timeouts and
	// the body cap still apply, and body faults are still the client's.
	// A chunked body is streamed chunked: Django under WSGI reads no
	// body without a Content-Length, so it sees an empty one.
	// A streaming path must be outside [uploads] (listed in
	// uploads.exempt_paths: the upload layer reads the bodies it inspects
	// in full). Empty (the default): every body is buffered. "bulwark
	// check" warns (BW116) when it is set.
	InsecureStreamPaths []string `toml:"insecure_stream_paths"`
}

// Buffering defaults.
const (
	DefaultBufferMemory      = spool.DefaultMemory
	MaxBufferMemory          = 16 << 20
	DefaultBufferIdleTimeout = 10 * time.Second
)

func (b BufferingConfig) withDefaults(uploadTemp string) BufferingConfig {
	if b.MemoryBytes == 0 {
		b.MemoryBytes = DefaultBufferMemory
	}
	b.IdleTimeout = orDur(b.IdleTimeout, DefaultBufferIdleTimeout)
	if b.TempDir == "" {
		b.TempDir = uploadTemp
	}
	return b
}

func (b BufferingConfig) validate(uploadPaths, uploadExempt []string) error {
	if b.MemoryBytes < 0 || b.MemoryBytes > MaxBufferMemory {
		return invalid("buffering.memory_bytes %d is outside 0..%d", b.MemoryBytes, MaxBufferMemory)
	}
	if b.IdleTimeout < 0 {
		return invalid("buffering.idle_timeout must not be negative")
	}
	if b.TempDir != "" {
		if fi, err := os.Stat(b.TempDir); err != nil || !fi.IsDir() {
			return invalid("buffering.temp_dir %q is not a directory", b.TempDir)
		}
	}
	if _, err := pathset.Parse(b.InsecureStreamPaths); err != nil {
		return invalid("buffering.insecure_stream_paths: %v", err)
	}
	// The upload layer reads the bodies of its paths in full (to inspect
	// them) before the proxy: a streaming path there would be buffered
	// anyway, and the setting would not mean what it says.
	up, _ := pathset.Parse(uploadPaths)
	ex, _ := pathset.Parse(uploadExempt)
	for _, p := range b.InsecureStreamPaths {
		if up.Match(p) && !ex.Match(p) {
			return invalid("buffering.insecure_stream_paths: %q is inspected by [uploads] (uploads.paths, every path by default), which reads its bodies in full; add it to uploads.exempt_paths", p)
		}
	}
	return nil
}

// bufferer reads request bodies before they are proxied.
type bufferer struct {
	spool  *spool.Spooler
	stream pathset.Set
	idle   time.Duration
	total  time.Duration
	events *slog.Logger
}

func newBufferer(c BufferingConfig, read time.Duration, events *slog.Logger) *bufferer {
	stream, _ := pathset.Parse(c.InsecureStreamPaths) // validated
	return &bufferer{spool: spool.New(c.TempDir, c.MemoryBytes), stream: stream, idle: c.IdleTimeout, total: read, events: events}
}

// guard wraps next so that every request body is read under the
// buffering bounds, whoever reads it (the upload layer on upload paths,
// prepare otherwise, the transport on streaming paths): each read waits
// at most the idle timeout and none goes past the total bound, and the
// first read error is kept, so that a failure surfacing elsewhere is
// still recognised as the client's (see clientFault). It sits under
// observe, whose statusWriter carries the reader to the proxy's error
// handler.
func (b *bufferer) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// One allocation for the request copy and its body reader.
		pr := &prepared{req: *r, cb: clientBody{rc: r.Body, idle: b.idle, end: time.Now().Add(b.total), rc2: http.NewResponseController(w)}}
		pr.req.Body = &pr.cb
		if sw := findStatusWriter(w); sw != nil {
			sw.body = &pr.cb
		}
		defer pr.cb.finish()
		next.ServeHTTP(w, &pr.req)
	})
}

type prepared struct {
	req http.Request
	cb  clientBody
}

// prepare returns the request to proxy: r itself when it has no body, one
// already spooled (by the upload layer), or one on a streaming path; else
// a copy whose body is read in full first. ok is false when the body was
// refused; the answer is then written.
func (b *bufferer) prepare(w http.ResponseWriter, r *http.Request) (out *http.Request, ok bool) {
	if b == nil {
		return r, true // a proxy built without buffering (tests of the forwarding alone)
	}
	if r.Body == nil || r.Body == http.NoBody || spool.IsBody(r.Body) || b.streamed(r.URL.Path) {
		return r, true
	}
	d := b.spool.Get()
	_, err := d.ReadFrom(r.Body)
	if err == nil {
		err = d.Finish()
	}
	if err != nil {
		d.Close()
		if errors.Is(err, spool.ErrSpool) {
			// Not the client's: the spool file could not be written.
			b.events.LogAttrs(r.Context(), slog.LevelError, "request body not buffered",
				slog.String("event", "buffering_failed"), slog.String("error", err.Error()))
			writeStatus(w, http.StatusInternalServerError)
			return nil, false
		}
		refuseBody(b.events, w, r, err)
		return nil, false
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.ContentLength = d.Len()
	r2.TransferEncoding = nil
	r2.Trailer = nil
	if _, ok := r.Header["Expect"]; ok {
		// The gateway answered the client's 100-continue when it read
		// the body; the upstream gets the whole body at once and must
		// not make the transport wait for a 100 of its own.
		r2.Header = r.Header.Clone()
		delete(r2.Header, "Expect")
	}
	if d.Len() == 0 {
		d.Close()
		r2.Body = http.NoBody
	} else {
		r2.Body = d
	}
	return r2, true
}

// streamed reports whether bodies on path p are streamed: only when p is
// under insecure_stream_paths both cleaned and as sent, so that no
// spelling widens the opt-out (fail closed: in doubt, buffer).
func (b *bufferer) streamed(p string) bool {
	return b.stream.Match(p) && b.stream.MatchAsSent(p)
}

// clientBody is a request body as the client sends it: each read waits
// at most idle, and none goes past end; the first error is kept so that a
// failure surfacing elsewhere (in the transport, streaming) is still
// recognised as the client's.
//
// On a streaming path the transport may still read the body after the
// handler returned (an upstream that answered early); the connection may
// then be serving the next request, whose deadlines must not be touched:
// once guard's handler has returned, reads fail and no deadline is set.
type clientBody struct {
	rc   io.ReadCloser
	rc2  *http.ResponseController
	idle time.Duration
	end  time.Time

	mu       sync.Mutex
	err      error // first read error other than io.EOF
	eof      bool
	finished bool // the handler returned
	nodl     bool // the connection takes no deadlines (a test recorder)
}

func (c *clientBody) Read(p []byte) (int, error) {
	c.mu.Lock()
	switch {
	case c.finished:
		c.mu.Unlock()
		return 0, http.ErrBodyReadAfterClose
	case c.eof:
		c.mu.Unlock()
		return 0, io.EOF
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	if !c.nodl {
		dl := time.Now().Add(c.idle)
		if dl.After(c.end) {
			dl = c.end
		}
		if c.rc2.SetReadDeadline(dl) != nil {
			c.nodl = true
		}
	}
	c.mu.Unlock()
	n, err := c.rc.Read(p)
	if err != nil {
		c.mu.Lock()
		if err == io.EOF {
			c.eof = true
			c.setDeadline(time.Time{})
		} else if c.err == nil {
			c.err = err
			c.setDeadline(time.Now())
		}
		c.mu.Unlock()
	}
	return n, err
}

// setDeadline sets the connection's read deadline while the handler runs
// (c.mu held). After a body fault it is now: every further read fails at
// once, where the server would otherwise read the rest of the body (up to
// 256 KiB) at the client's pace before closing. After the body's end it
// is lifted: the server keeps reading the connection in the background
// (to notice a client that goes away), and an expired deadline there
// would cancel the request while the upstream answers.
func (c *clientBody) setDeadline(t time.Time) {
	if !c.nodl && !c.finished {
		_ = c.rc2.SetReadDeadline(t)
	}
}

// stop makes further reads of the connection fail at once (a body fault
// found above the reader: the body cap).
func (c *clientBody) stop() {
	c.mu.Lock()
	c.setDeadline(time.Now())
	c.mu.Unlock()
}

// finish marks the handler as returned.
func (c *clientBody) finish() {
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
}

// fault returns the first read error, if any.
func (c *clientBody) fault() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *clientBody) Close() error { return c.rc.Close() }

// clientFault returns the body error of the request served with w, if
// any: what guard's reader kept.
func clientFault(w http.ResponseWriter) error {
	if cb := guarded(w); cb != nil {
		return cb.fault()
	}
	return nil
}

// guarded returns guard's reader of the request served with w, or nil.
func guarded(w http.ResponseWriter) *clientBody {
	for i := 0; i < 8 && w != nil; i++ {
		if sw, ok := w.(*statusWriter); ok {
			return sw.body
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
	}
	return nil
}

// refuseBody answers a request whose body failed to arrive: the client's
// fault, never the upstream's. A body over the cap was already logged
// by [limits] (request_too_large); the others log one
// request_body_refused event.
func refuseBody(events *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	if cb := guarded(w); cb != nil {
		// A fault found above the reader (the body cap): stop reading
		// the connection all the same.
		cb.stop()
	}
	var le *limits.Error
	if errors.As(err, &le) {
		limitsrefusal.Write(w, r, events, le)
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		refusal.Log(events, r, "request body too large", "body_too_large", "max_bytes")
		w.Header().Set("Connection", "close")
		writeStatus(w, http.StatusRequestEntityTooLarge)
		return
	}
	status, reason := spool.Fault(err)
	refusal.Log(events, r, "request body refused", "request_body_refused", reason)
	// The connection holds an unknown part of the body, or none can be
	// read from it any more: it is not reused.
	w.Header().Set("Connection", "close")
	writeStatus(w, status)
}
