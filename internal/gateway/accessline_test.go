package gateway

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// slogLine is the line slog's JSONHandler writes for e at now (as the
// access log through a logger is written): the format the access log file
// has always had, which appendAccessLine must keep.
func slogLine(t testing.TB, now time.Time, e *accessEntry) []byte {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, nil)
	rec := slog.NewRecord(now, slog.LevelInfo, "request", 0)
	attrs := e.attrs()
	rec.AddAttrs(attrs[:]...)
	if err := h.Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestAccessLineMatchesSlog(t *testing.T) {
	id := newRequestID()
	for _, e := range []accessEntry{
		{method: "GET", host: "example.com", path: "/", status: 200, bytes: 23, duration: 1234567, clientIP: netip.MustParseAddr("192.0.2.1"), proto: "HTTP/1.1", id: id, hasID: true},
		{method: "POST", host: "[2001:db8::1]:8443", path: "/a b/\"q\"\\", status: 413, duration: time.Hour, clientIP: netip.MustParseAddr("2001:db8::1"), proto: "HTTP/2.0"},
		{method: "G\x00T", host: "ev\til\n\r\x7f", path: "/\u2028\u2029/\xff\xfe/é/</script>&", status: 400, bytes: -1, proto: "HTTP/1.0"},
		{clientIP: netip.MustParseAddr("fe80::1%eth0"), id: id, hasID: true},
	} {
		for _, now := range []time.Time{
			time.Date(2026, 12, 3, 16, 0, 0, 0, time.UTC),
			time.Date(2026, 12, 3, 16, 0, 0, 999999999, time.FixedZone("x", 5*3600+1800)),
			time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC),
		} {
			got := appendAccessLine(nil, now, &e)
			if want := slogLine(t, now, &e); !bytes.Equal(got, want) {
				t.Errorf("access line differs from slog's:\n got %s\nwant %s", got, want)
			}
		}
	}
}

// FuzzAccessLine: for any method, host, path and protocol a client can
// make the gateway log, the access line is byte for byte the line slog's
// JSONHandler writes (valid JSON, nothing unescaped).
func FuzzAccessLine(f *testing.F) {
	f.Add("GET", "example.com", "/", "HTTP/1.1", int64(12))
	f.Add("P\x00ST", "a\"b", "/\xff\u2028", "HTTP/9", int64(-5))
	f.Fuzz(func(t *testing.T, method, host, path, proto string, n int64) {
		e := accessEntry{method: method, host: host, path: path, proto: proto, status: 200, bytes: n,
			duration: time.Duration(n), clientIP: netip.AddrFrom4([4]byte{192, 0, 2, byte(n)})}
		now := time.Unix(n%(1<<40), n%1e9).UTC()
		if got, want := appendAccessLine(nil, now, &e), slogLine(t, now, &e); !bytes.Equal(got, want) {
			t.Errorf("access line differs from slog's:\n got %q\nwant %q", got, want)
		}
	})
}
