package ratelimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"
	"github.com/bulwarkdev/bulwark/ratelimit"
)

// established returns r as the trusted-proxy layer hands it on: carrying
// the record, its client the TCP peer.
func established(r *http.Request) *http.Request {
	ip := reqstate.PeerAddr(r.RemoteAddr)
	return reqstatetest.With(r, reqstate.Conn{ClientIP: ip, Peer: ip, Scheme: "https", Host: r.Host}, r.Host, true)
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header       { return w.h }
func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriter) WriteHeader(int)             {}

// TestCheckAllocs pins the cost of a rate-limited request on the memory
// store: no allocation, for IPv4 and IPv6 clients, in Check and in the
// Handler of an accepted request.
func TestCheckAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	l, err := ratelimit.New(ratelimit.Config{
		Rules: []ratelimit.Rule{
			{Name: "site", Rate: "1000000/s", Paths: []string{"/"}},
			{Name: "api", Rate: "1000000/s", Paths: []string{"/api/"}, Methods: []string{"GET"}},
		},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := nopWriter{h: http.Header{}}
	for _, peer := range []string{"192.0.2.1:1234", "[2001:db8::1]:1234"} {
		r := httptest.NewRequest("GET", "/api/x", nil)
		r.RemoteAddr = peer
		r = established(r)
		l.Check(r) // the key exists from now on
		if n := testing.AllocsPerRun(1000, func() {
			if err := l.Check(r); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%s: Check allocates %.1f times per request, want 0", peer, n)
		}
		if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: Handler allocates %.1f times per request, want 0", peer, n)
		}
	}
}

func TestMemoryStoreAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	s := ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
	l := ratelimit.Limit{Interval: time.Microsecond, Burst: 1000}
	ctx := context.Background()
	s.Take(ctx, "k", l, 1)
	if n := testing.AllocsPerRun(1000, func() { s.Take(ctx, "k", l, 1) }); n != 0 {
		t.Errorf("Take allocates %.1f times, want 0", n)
	}
}

// The memory store stays within MaxKeys however many clients arrive.
func TestMemoryStoreBounded(t *testing.T) {
	s := ratelimit.NewMemoryStore(ratelimit.MemoryConfig{MaxKeys: 640})
	l := ratelimit.Limit{Interval: time.Hour, Burst: 5}
	for i := range 10000 {
		s.Take(context.Background(), "client"+string(rune(i)), l, 1)
	}
	if n := s.Len(); n > 640 || n < 320 {
		t.Fatalf("Len = %d after 10000 clients with MaxKeys 640", n)
	}
}

// Recovered keys are forgotten.
func TestMemoryStoreForgets(t *testing.T) {
	s := ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
	l := ratelimit.Limit{Interval: time.Millisecond, Burst: 1}
	s.Take(context.Background(), "k", l, 1)
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
	time.Sleep(5 * time.Millisecond)
	s.Take(context.Background(), "k", l, -1)
	if s.Len() != 0 {
		t.Fatalf("Len = %d after recovery, want 0", s.Len())
	}
}

func BenchmarkMemoryStore(b *testing.B) {
	s := ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
	l := ratelimit.Limit{Interval: time.Nanosecond * 1000, Burst: 1 << 20}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.Take(ctx, "site:ip:192.0.2.1", l, 1)
	}
}

func BenchmarkCheck(b *testing.B) {
	l, err := ratelimit.New(ratelimit.Config{
		Rules:  []ratelimit.Rule{{Name: "site", Rate: "1000000/s", Burst: ratelimit.MaxBurst, Paths: []string{"/"}}},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	// 256 clients of one /48, each in a /64 of its own (so that none is
	// refused), as the chain hands them on: the trusted-proxy layer has
	// established the client.
	var reqs [256]*http.Request
	for i := range reqs {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("[2001:db8:0:%x::1]:1234", i)
		reqs[i] = established(r)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := l.Check(reqs[i&255]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
