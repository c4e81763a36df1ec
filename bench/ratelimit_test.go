package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/redisstore"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Rate limiting per request. In memory: Bulwark's MemoryStore alone and
// the whole check (key from the established client, rule matching, the
// store), golang.org/x/time/rate as it is used per client (a map of
// *rate.Limiter under a mutex) and alone, and go-chi/httprate's
// middleware (sliding window, in memory). With Redis: Bulwark's
// redisstore (one GCRA script call) and the floor of a one-round-trip
// limiter, a bare INCR+PEXPIRE pipeline (a fixed window), each with the
// round trips per operation, beside go-redis/redis_rate (go-redis's own
// GCRA limiter, a Lua script as well).
//
// The clients: 256 IPv6 addresses, each in a /64 of its own, at a rate no
// client reaches (every request is allowed).

const rlClients = 256

func rlRequests(b *testing.B, facts bool) []*http.Request {
	b.Helper()
	reqs := make([]*http.Request, rlClients)
	tp, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range reqs {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = fmt.Sprintf("[2001:db8:0:%x::1]:1234", i)
		if facts {
			// As the chain hands it on: the trusted-proxy layer has
			// established the client (the request it passes on is kept).
			tp.Handler(http.HandlerFunc(func(_ http.ResponseWriter, er *http.Request) { r = er })).ServeHTTP(nil, r)
		}
		reqs[i] = r
	}
	return reqs
}

func BenchmarkRateLimitMemory(b *testing.B) {
	b.Run("bulwark-store", func(b *testing.B) {
		s := ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
		l := ratelimit.Limit{Interval: time.Microsecond, Burst: ratelimit.MaxBurst}
		keys := make([]string, rlClients)
		for i := range keys {
			keys[i] = fmt.Sprintf("site:ip6/64:20010db80000%04x", i)
		}
		ctx := context.Background()
		b.ReportAllocs()
		defer rlCPU(b)()
		i := 0
		for b.Loop() {
			if res, _ := s.Take(ctx, keys[i%rlClients], l, 1); !res.Allowed {
				b.Fatal("refused")
			}
			i++
		}
	})
	b.Run("bulwark-check", func(b *testing.B) {
		lim, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{
			{Name: "site", Rate: "1000000/s", Burst: ratelimit.MaxBurst, Paths: []string{"/"}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		reqs := rlRequests(b, true)
		b.ReportAllocs()
		defer rlCPU(b)()
		i := 0
		for b.Loop() {
			if err := lim.Check(reqs[i%rlClients]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("xtime-rate-per-client", func(b *testing.B) {
		// The usual way to key x/time/rate by client: a map of limiters.
		var mu sync.Mutex
		limiters := map[string]*rate.Limiter{}
		reqs := rlRequests(b, true)
		keys := make([]string, rlClients)
		for i, r := range reqs {
			keys[i] = trustedproxy.ClientIP(r).String()
		}
		b.ReportAllocs()
		defer rlCPU(b)()
		i := 0
		for b.Loop() {
			k := keys[i%rlClients]
			mu.Lock()
			l, ok := limiters[k]
			if !ok {
				l = rate.NewLimiter(rate.Limit(1e6), 1e6)
				limiters[k] = l
			}
			mu.Unlock()
			if !l.Allow() {
				b.Fatal("refused")
			}
			i++
		}
	})
	b.Run("xtime-rate-one-limiter", func(b *testing.B) {
		l := rate.NewLimiter(rate.Limit(1e9), 1e9)
		b.ReportAllocs()
		defer rlCPU(b)()
		for b.Loop() {
			if !l.Allow() {
				b.Fatal("refused")
			}
		}
	})
	b.Run("bulwark-handler", func(b *testing.B) {
		lim, err := ratelimit.New(ratelimit.Config{Rules: []ratelimit.Rule{
			{Name: "site", Rate: "1000000/s", Burst: ratelimit.MaxBurst, Paths: []string{"/"}},
		}})
		if err != nil {
			b.Fatal(err)
		}
		rlHandler(b, lim.Handler(rlOK), rlRequests(b, true))
	})
	b.Run("httprate-handler", func(b *testing.B) {
		// Keyed by the connection's address, grouped by /64 as Bulwark
		// does (LimitByIP, its shortcut, is deprecated).
		key := func(r *http.Request) (string, error) {
			return httprate.CanonicalizeIP(trustedproxy.ClientIP(r).String()), nil
		}
		h := httprate.LimitBy(1_000_000, time.Second, key)(rlOK)
		rlHandler(b, h, rlRequests(b, false))
	})
}

var rlOK = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

type rlSink struct{ h http.Header }

func (s *rlSink) Header() http.Header         { return s.h }
func (s *rlSink) Write(p []byte) (int, error) { return len(p), nil }
func (s *rlSink) WriteHeader(code int) {
	if code != http.StatusOK {
		panic(fmt.Sprint("status ", code))
	}
}

func rlHandler(b *testing.B, h http.Handler, reqs []*http.Request) {
	w := &rlSink{h: http.Header{}}
	b.ReportAllocs()
	defer rlCPU(b)()
	i := 0
	for b.Loop() {
		h.ServeHTTP(w, reqs[i%rlClients])
		i++
	}
}

// rlCPU starts counting the process's CPU time and returns the function
// that reports it per operation: on a shared machine, wall time per
// operation includes waiting for a core; CPU time much less so.
func rlCPU(b *testing.B) func() {
	start := rsCPU()
	return func() { b.ReportMetric(float64((rsCPU()-start).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

func BenchmarkRateLimitRedis(b *testing.B) {
	run := func(b *testing.B, take func(ctx context.Context, i int) error, writes *atomic.Int64) {
		ctx := context.Background()
		take(ctx, 0) // the script is loaded, the connection made
		b.ReportAllocs()
		writes.Store(0)
		cpu := rsCPU()
		i := 0
		for b.Loop() {
			if err := take(ctx, i); err != nil {
				b.Fatal(err)
			}
			i++
		}
		rsReport(b, writes.Load(), rsCPU()-cpu)
	}
	keys := make([]string, rlClients)
	for i := range keys {
		keys[i] = fmt.Sprintf("site:ip6/64:20010db80000%04x", i)
	}
	b.Run("bulwark-redisstore", func(b *testing.B) {
		var writes atomic.Int64
		c := rsClient(b, &writes)
		s, err := redisstore.New(c, redisstore.Config{Prefix: rsPrefix(b)})
		if err != nil {
			b.Fatal(err)
		}
		l := ratelimit.Limit{Interval: time.Microsecond, Burst: ratelimit.MaxBurst}
		run(b, func(ctx context.Context, i int) error {
			res, err := s.Take(ctx, keys[i%rlClients], l, 1)
			if err == nil && !res.Allowed {
				return fmt.Errorf("refused")
			}
			return err
		}, &writes)
	})
	b.Run("go-redis-redis_rate", func(b *testing.B) {
		// go-redis's own GCRA limiter: a Lua script too (EVALSHA).
		var writes atomic.Int64
		c := rsClient(b, &writes)
		lim := redis_rate.NewLimiter(c)
		prefix := rsPrefix(b)
		limit := redis_rate.Limit{Rate: 1_000_000, Burst: 1_000_000, Period: time.Second}
		run(b, func(ctx context.Context, i int) error {
			res, err := lim.Allow(ctx, prefix+keys[i%rlClients], limit)
			if err == nil && res.Allowed == 0 {
				return fmt.Errorf("refused")
			}
			return err
		}, &writes)
	})
	b.Run("bare-incr-pexpire", func(b *testing.B) {
		// A fixed-window counter: INCR and PEXPIRE in one pipeline.
		var writes atomic.Int64
		c := rsClient(b, &writes)
		prefix := rsPrefix(b)
		run(b, func(ctx context.Context, i int) error {
			k := prefix + keys[i%rlClients]
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				p.Incr(ctx, k)
				p.PExpire(ctx, k, time.Minute)
				return nil
			})
			return err
		}, &writes)
	})
	b.Run("bare-get", func(b *testing.B) {
		// The floor: one round trip that does nothing.
		var writes atomic.Int64
		c := rsClient(b, &writes)
		prefix := rsPrefix(b)
		run(b, func(ctx context.Context, i int) error {
			err := c.Get(ctx, prefix+keys[i%rlClients]).Err()
			if err == redis.Nil {
				err = nil
			}
			return err
		}, &writes)
	})
}
