// Package spool holds request bodies while they are judged: in memory up
// to a threshold, then in a private temporary file that has no name (an
// O_TMPFILE file where the system has them, else one unlinked right after
// it is created), so that nothing is left on disk when the process dies
// and no other process can open it by path.
//
// The gateway spools every request body before the upstream sees a byte
// of it (request buffering, as nginx does in front of gunicorn), and the
// upload layer spools the raw bytes it forwards. A Body handed on by one
// is recognised by the other (IsBody) and not copied twice.
package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultMemory is the memory threshold used when a Spooler is given 0.
const DefaultMemory = 64 << 10

// copyBuffer is the size of the buffer that moves bytes to the file.
const copyBuffer = 32 << 10

// Spooler makes Bodies with one temporary directory and one memory
// threshold. Its memory chunks are pooled, so spooling a small body costs
// one small allocation (the Body). A Spooler is safe for concurrent use.
type Spooler struct {
	dir   string
	mem   int
	pool  sync.Pool // *[]byte of cap max(mem, copyBuffer)
	files func(dir string) (*os.File, error)
}

// New returns a Spooler writing files in dir (empty: os.TempDir()) after
// mem bytes in memory (0: DefaultMemory; negative: straight to a file).
func New(dir string, mem int) *Spooler {
	if mem == 0 {
		mem = DefaultMemory
	}
	if mem < 0 {
		mem = 0
	}
	s := &Spooler{dir: dir, mem: mem, files: tempFile}
	size := max(mem, copyBuffer)
	s.pool.New = func() any { b := make([]byte, 0, size); return &b }
	return s
}

// Memory returns the memory threshold in bytes.
func (s *Spooler) Memory() int { return s.mem }

// Get returns an empty Body to write into. Call Finish when it is full,
// then read it; Close releases it in any state.
func (s *Spooler) Get() *Body {
	return &Body{s: s}
}

// Body is one spooled request body. While being filled it is an
// io.Writer and io.ReaderFrom; after Finish it is an io.ReadCloser of
// known length, for http.Request.Body. Reads and Close may come from
// different goroutines (http.Transport closes a request body from its own
// goroutine, possibly after the handler returned): a read in progress
// keeps the memory until it returns, and reads after Close fail, so
// released memory is never read. Concurrent reads are not supported (the
// second fails).
type Body struct {
	s     *Spooler
	chunk *[]byte  // pooled; memory part while file is nil, then the copy buffer
	file  *os.File // nil while the body fits in memory
	n     int64

	mu     sync.Mutex // guards busy and closed
	r      bytes.Reader
	busy   bool // a read is in progress
	closed bool
}

// Len returns the number of bytes written so far (after Finish: the
// body's length).
func (d *Body) Len() int64 { return d.n }

// OnFile reports whether the body outgrew memory and lives in a file.
func (d *Body) OnFile() bool { return d.file != nil }

func (d *Body) buf() []byte {
	if d.chunk == nil {
		d.chunk = d.s.pool.Get().(*[]byte)
		*d.chunk = (*d.chunk)[:0]
	}
	return *d.chunk
}

// Write appends p, moving the body to a file when it outgrows memory.
func (d *Body) Write(p []byte) (int, error) {
	if d.file == nil {
		b := d.buf()
		if len(b)+len(p) <= d.s.mem {
			*d.chunk = append(b, p...)
			d.n += int64(len(p))
			return len(p), nil
		}
		if err := d.toFile(); err != nil {
			return 0, err
		}
	}
	n, err := d.file.Write(p)
	d.n += int64(n)
	return n, fileErr(err)
}

func (d *Body) toFile() error {
	f, err := d.s.files(d.s.dir)
	if err != nil {
		return fileErr(err)
	}
	if _, err := f.Write(d.buf()); err != nil {
		f.Close()
		return fileErr(err)
	}
	d.file = f
	*d.chunk = (*d.chunk)[:0]
	return nil
}

// ReadFrom copies r into the body until r's end or first error: straight
// into memory, then to the file through the pooled chunk (no other copy
// buffer). The error is r's (never io.EOF), or the file's, which wraps
// ErrSpool.
func (d *Body) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		b := d.buf()
		if d.file == nil && len(b) >= d.s.mem {
			// Memory is full: look ahead one read before spilling, so
			// that a body of exactly the threshold stays in memory.
			var one [1]byte
			n, err := r.Read(one[:])
			if n == 0 {
				if err == io.EOF {
					return total, nil
				}
				if err != nil {
					return total, err
				}
				continue
			}
			if err := d.toFile(); err != nil {
				return total, err
			}
			if _, werr := d.file.Write(one[:1]); werr != nil {
				return total, fileErr(werr)
			}
			d.n++
			total++
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
			continue
		}
		var n int
		var err error
		if d.file == nil {
			n, err = r.Read(b[len(b):d.s.mem])
			*d.chunk = b[:len(b)+n]
			d.n += int64(n)
			total += int64(n)
		} else {
			b = b[:cap(b)]
			n, err = r.Read(b)
			if n > 0 {
				m, werr := d.file.Write(b[:n])
				d.n += int64(m)
				total += int64(m)
				if werr != nil {
					return total, fileErr(werr)
				}
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Finish ends writing: the next Read starts at the body's beginning.
func (d *Body) Finish() error { return d.Rewind() }

// Read reads the body (after Finish).
func (d *Body) Read(p []byte) (int, error) {
	if !d.enter() {
		return 0, os.ErrClosed
	}
	defer d.leave()
	if d.file != nil {
		return d.file.Read(p)
	}
	return d.r.Read(p)
}

// WriteTo writes the rest of the body to w (after Finish), through the
// pooled chunk when the body is on file.
func (d *Body) WriteTo(w io.Writer) (int64, error) {
	if !d.enter() {
		return 0, os.ErrClosed
	}
	defer d.leave()
	if d.file == nil {
		return d.r.WriteTo(w)
	}
	b := d.buf()
	b = b[:cap(b)]
	var total int64
	for {
		n, err := d.file.Read(b)
		if n > 0 {
			m, werr := w.Write(b[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// enter starts a read; false when the body is closed.
func (d *Body) enter() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed || d.busy {
		return false
	}
	d.busy = true
	return true
}

// leave ends a read, releasing the body if Close came meanwhile.
func (d *Body) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy = false
	if d.closed {
		d.release()
	}
}

// Rewind makes the next Read start at the body's beginning (to inspect a
// body, then hand it on).
func (d *Body) Rewind() error {
	if !d.enter() {
		return os.ErrClosed
	}
	defer d.leave()
	if d.file != nil {
		_, err := d.file.Seek(0, io.SeekStart)
		return fileErr(err)
	}
	if d.chunk == nil {
		d.r.Reset(nil)
	} else {
		d.r.Reset(*d.chunk)
	}
	return nil
}

// Close releases the body: the memory chunk goes back to the pool, the
// file is closed (and, having no name, disappears). A read in progress
// (from another goroutine) finishes first and the release happens when
// it returns; later reads fail. Later calls do nothing.
func (d *Body) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if !d.busy {
		d.release()
	}
	return nil
}

func (d *Body) release() {
	d.r.Reset(nil)
	if d.file != nil {
		d.file.Close()
		d.file = nil
	}
	if d.chunk != nil {
		*d.chunk = (*d.chunk)[:0]
		d.s.pool.Put(d.chunk)
		d.chunk = nil
	}
}

// IsBody reports whether rc is a spooled Body (read in full from the
// client already).
func IsBody(rc io.ReadCloser) bool {
	_, ok := rc.(*Body)
	return ok
}

// ErrSpool is wrapped by every failure of the spool itself (creating,
// writing or seeking its file), which tells it from a failure of the
// reader being spooled (the client's).
var ErrSpool = errors.New("spool: temporary file failed")

func fileErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrSpool, err)
}
