package session

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"
)

// The record a store keeps is binary, not JSON: it is read on every
// request, and a hand-written format decodes with two allocations where
// encoding/json needs one per value. The values inside are JSON.
//
//	version  byte (1)
//	created  uvarint, unix seconds (start of the absolute lifetime)
//	saved    uvarint, unix seconds (last save, for the idle timeout)
//	flags    byte: 1 custom expiry, 2 browser session, 4 idle, 8 deadline
//	[idle]   uvarint seconds       (flag 4)
//	[deadl.] uvarint unix seconds  (flag 8)
//	count    uvarint
//	count × (uvarint len, key, uvarint len, JSON value)
const recordVersion = 1

const (
	flagCustom = 1 << iota
	flagBrowser
	flagIdle
	flagDeadline
)

var errRecord = errors.New("session: malformed record")

// Expiry is a per-session expiry, Django's set_expiry. The zero Expiry
// means "the Manager's defaults" (set_expiry(None)).
type Expiry struct {
	// Idle ends the session after this long without a request reading it
	// (set_expiry(seconds)). Zero: the Manager's IdleTimeout.
	Idle time.Duration
	// Deadline ends the session at this time, replacing the Manager's
	// Lifetime (set_expiry(datetime)). Zero: creation + Lifetime.
	Deadline time.Time
	// BrowserSession sends the cookie without Max-Age, so the browser
	// drops it when it closes (set_expiry(0)). When an Expiry is set, it
	// replaces the Manager's BrowserSession, as in Django.
	BrowserSession bool
}

func (e Expiry) isZero() bool { return e.Idle == 0 && e.Deadline.IsZero() && !e.BrowserSession }

type record struct {
	created, saved int64
	custom         bool
	exp            Expiry
	values         values
}

// kv is one session value: its key and its JSON.
type kv struct{ k, v string }

// values is a session's data. A slice searched linearly beats a map for
// the handful of keys a session holds, and decodes without allocating
// (the state carries a backing array).
type values []kv

func (vs values) find(k string) int {
	for i := range vs {
		if vs[i].k == k {
			return i
		}
	}
	return -1
}

func (vs values) get(k string) (string, bool) {
	if i := vs.find(k); i >= 0 {
		return vs[i].v, true
	}
	return "", false
}

func (vs *values) set(k, v string) {
	if i := vs.find(k); i >= 0 {
		(*vs)[i].v = v
		return
	}
	*vs = append(*vs, kv{k, v})
}

// remove deletes k and reports whether it was there.
func (vs *values) remove(k string) bool {
	i := vs.find(k)
	if i < 0 {
		return false
	}
	*vs = append((*vs)[:i], (*vs)[i+1:]...)
	return true
}

func (r *record) encode() []byte {
	n := 1 + 3*binary.MaxVarintLen64 + 1 + binary.MaxVarintLen64
	for _, e := range r.values {
		n += len(e.k) + len(e.v) + 2*binary.MaxVarintLen32
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = binary.AppendUvarint(b, uint64(r.created))
	b = binary.AppendUvarint(b, uint64(r.saved))
	var flags byte
	if r.custom {
		flags |= flagCustom
		if r.exp.BrowserSession {
			flags |= flagBrowser
		}
		if r.exp.Idle > 0 {
			flags |= flagIdle
		}
		if !r.exp.Deadline.IsZero() {
			flags |= flagDeadline
		}
	}
	b = append(b, flags)
	if flags&flagIdle != 0 {
		b = binary.AppendUvarint(b, uint64(r.exp.Idle/time.Second))
	}
	if flags&flagDeadline != 0 {
		b = binary.AppendUvarint(b, uint64(r.exp.Deadline.Unix()))
	}
	b = binary.AppendUvarint(b, uint64(len(r.values)))
	for _, e := range r.values {
		b = binary.AppendUvarint(b, uint64(len(e.k)))
		b = append(b, e.k...)
		b = binary.AppendUvarint(b, uint64(len(e.v)))
		b = append(b, e.v...)
	}
	return b
}

// decodeRecord parses data, which the caller owns and never modifies
// afterwards: keys and values are strings sharing its memory. Values are
// appended to buf[:0] (the caller's backing array). A duplicated key is
// malformed: a record that could mean two things is refused.
func decodeRecord(data []byte, buf values) (record, error) {
	var r record
	if len(data) < 1 || data[0] != recordVersion {
		return r, errRecord
	}
	s := unsafe.String(unsafe.SliceData(data), len(data))
	p := 1
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(data[p:])
		if n <= 0 {
			return 0, false
		}
		p += n
		return v, true
	}
	c, ok1 := uv()
	sv, ok2 := uv()
	if !ok1 || !ok2 || c > 1<<40 || sv > 1<<40 || p >= len(data) {
		return r, errRecord
	}
	r.created, r.saved = int64(c), int64(sv)
	flags := data[p]
	p++
	r.custom = flags&flagCustom != 0
	r.exp.BrowserSession = flags&flagBrowser != 0
	if flags&flagIdle != 0 {
		v, ok := uv()
		if !ok || v > 1<<40 {
			return r, errRecord
		}
		r.exp.Idle = time.Duration(v) * time.Second
	}
	if flags&flagDeadline != 0 {
		v, ok := uv()
		if !ok || v > 1<<40 {
			return r, errRecord
		}
		r.exp.Deadline = time.Unix(int64(v), 0)
	}
	count, ok := uv()
	if !ok || count > uint64(len(data)) {
		return r, errRecord
	}
	r.values = buf[:0]
	str := func() (string, bool) {
		n, ok := uv()
		if !ok || n > uint64(len(data)-p) {
			return "", false
		}
		v := s[p : p+int(n)]
		p += int(n)
		return v, true
	}
	for i := uint64(0); i < count; i++ {
		k, ok1 := str()
		v, ok2 := str()
		if !ok1 || !ok2 {
			return r, errRecord
		}
		if r.values.find(k) >= 0 {
			return r, errRecord
		}
		r.values = append(r.values, kv{k, v})
	}
	if p != len(data) {
		return r, errRecord
	}
	return r, nil
}
