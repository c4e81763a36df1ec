package gateway

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// accessLog is where observe writes the access log: formatted here and
// written to a file (file set), or handed to a slog.Logger (the gateway's
// own logger, when [access_log] names no file). Both write the same JSON
// object; the file's lines are formatted without reflection or a
// per-field allocation, since every request writes one.
type accessLog struct {
	file   *bufferedFile
	logger *slog.Logger
}

// accessEntry is one access log line's fields.
type accessEntry struct {
	method   string
	host     string
	path     string
	status   int
	bytes    int64
	duration time.Duration
	clientIP netip.Addr
	proto    string
	id       [16]byte
	hasID    bool
}

// attrs are e's fields as slog attributes, in the access line's order.
func (e *accessEntry) attrs() [10]slog.Attr {
	ip, id := "", ""
	if e.clientIP.IsValid() {
		ip = e.clientIP.String()
	}
	if e.hasID {
		id = string(e.id[:])
	}
	return [10]slog.Attr{
		slog.String("event", "access"),
		slog.String("method", e.method),
		slog.String("host", e.host),
		slog.String("path", e.path),
		slog.Int("status", e.status),
		slog.Int64("bytes", e.bytes),
		slog.Duration("duration", e.duration),
		slog.String("client_ip", ip),
		slog.String("proto", e.proto),
		slog.String("request_id", id),
	}
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (a *accessLog) write(r *http.Request, e *accessEntry) {
	if a.file == nil {
		attrs := e.attrs()
		a.logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:]...)
		return
	}
	bp := lineBufs.Get().(*[]byte)
	b := appendAccessLine((*bp)[:0], time.Now(), e)
	_, _ = a.file.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b
		lineBufs.Put(bp)
	}
}

// appendAccessLine appends e as the JSON line slog's JSONHandler would
// write for it (the same keys in the same order, the time in RFC 3339
// with nanoseconds, durations in nanoseconds, strings escaped alike).
func appendAccessLine(b []byte, now time.Time, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = now.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"INFO","msg":"request","event":"access","method":`...)
	b = appendJSONString(b, e.method)
	b = append(b, `,"host":`...)
	b = appendJSONString(b, e.host)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, e.bytes, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(e.duration), 10)
	b = append(b, `,"client_ip":"`...)
	if e.clientIP.IsValid() {
		b = e.clientIP.AppendTo(b) // digits, dots, colons, hex and a zone
	}
	b = append(b, `","proto":`...)
	b = appendJSONString(b, e.proto)
	b = append(b, `,"request_id":"`...)
	if e.hasID {
		b = append(b, e.id[:]...) // hex digits
	}
	return append(b, "\"}\n"...)
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control bytes escaped, invalid UTF-8 as U+FFFD, and U+2028 and U+2029
// escaped (as encoding/json and slog do).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
