package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	redigo "github.com/gomodule/redigo/redis"
	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/session"
	bwredis "github.com/bulwarkdev/bulwark/session/redisstore"
)

// Sessions on Redis: a request that reads one value from its session (GET)
// and one that writes one (POST), through Bulwark's manager with
// redisstore (go-redis) and through scs v2 with its redisstore (redigo),
// on the same Redis, plus the floor: bare go-redis commands doing the
// same storage work. Each row also reports the writes to the Redis socket
// per operation (round trips) and the client's CPU time per operation.

func rsAddr() string {
	if a := os.Getenv("BULWARK_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// rsCounted counts writes to a connection: each is one round trip for the
// request-reply clients measured here.
type rsCounted struct {
	net.Conn
	n *atomic.Int64
}

func (c rsCounted) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

func rsDial(n *atomic.Int64) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rsCounted{c, n}, nil
	}
}

// rsClient returns a go-redis client whose socket writes are counted in n,
// after checking Redis answers: unreachable, the benchmark skips, or fails
// when BULWARK_REQUIRE_SERVICES is set.
func rsClient(b *testing.B, n *atomic.Int64) *redis.Client {
	b.Helper()
	c := redis.NewClient(&redis.Options{Addr: rsAddr(), Dialer: rsDial(n), PoolSize: 4, ContextTimeoutEnabled: true})
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		if os.Getenv("BULWARK_REQUIRE_SERVICES") != "" {
			b.Fatalf("Redis at %s: %v", rsAddr(), err)
		}
		b.Skipf("Redis at %s unreachable: %v", rsAddr(), err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

// rsPrefix returns a key prefix for one benchmark and deletes its keys at
// the end.
func rsPrefix(b *testing.B) string {
	var r [8]byte
	rand.Read(r[:])
	p := "bulwark:bench:" + hex.EncodeToString(r[:]) + ":"
	b.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: rsAddr()})
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return p
}

type rsSink struct{ h http.Header }

func (s *rsSink) Header() http.Header         { return s.h }
func (s *rsSink) Write(p []byte) (int, error) { return len(p), nil }
func (s *rsSink) WriteHeader(code int) {
	if code != http.StatusOK {
		panic("status " + strconv.Itoa(code))
	}
}

// rsSession makes a session by a first POST through h and returns the
// cookie that carries it.
func rsSession(b *testing.B, h http.Handler, name string) string {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://example.com/login", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c.Name + "=" + c.Value
		}
	}
	b.Fatalf("no %s cookie after login: %q", name, w.Header()["Set-Cookie"])
	return ""
}

// rsCPU returns the CPU time (user and system) this process has used.
// Wall time per request is mostly waiting for Redis, and on a busy
// machine that wait is noise; CPU time per request is what the client
// side really costs and stays comparable between runs.
func rsCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rsReport adds round trips and client CPU time per operation.
func rsReport(b *testing.B, writes int64, cpu time.Duration) {
	b.ReportMetric(float64(writes)/float64(b.N), "roundtrips/op")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// rsRun serves r through h b.N times and reports the round trips.
func rsRun(b *testing.B, h http.Handler, r *http.Request, writes *atomic.Int64) {
	b.Helper()
	w := &rsSink{}
	b.ReportAllocs()
	writes.Store(0)
	cpu := rsCPU()
	b.ResetTimer()
	for b.Loop() {
		w.h = http.Header{}
		h.ServeHTTP(w, r)
	}
	rsReport(b, writes.Load(), rsCPU()-cpu)
}

func rsRequest(method, cookie string) *http.Request {
	r := httptest.NewRequest(method, "https://example.com/", nil)
	r.Header.Set("Cookie", cookie)
	return r
}

// rsBulwark returns a handler behind Bulwark's session manager on
// redisstore that reads the "user" value on GET and writes it on POST, and
// the cookie of a session holding it.
func rsBulwark(b *testing.B, client redis.UniversalClient) (http.Handler, string) {
	b.Helper()
	store, err := bwredis.New(client, bwredis.Config{Prefix: rsPrefix(b)})
	if err != nil {
		b.Fatal(err)
	}
	m, err := session.New(session.Config{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	var i atomic.Int64
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			session.Put(r, "user", "user-"+strconv.FormatInt(i.Add(1), 10))
			return
		}
		if _, ok := session.Get[string](r, "user"); !ok {
			panic("no user in session")
		}
	}))
	return h, rsSession(b, h, m.CookieName())
}

// rsSCS is rsBulwark for scs v2 on its redisstore (a redigo pool whose
// socket writes are counted in writes).
func rsSCS(b *testing.B, writes *atomic.Int64) (http.Handler, string) {
	b.Helper()
	rsClient(b, new(atomic.Int64)) // skip or fail as for the others
	pool := &redigo.Pool{
		MaxIdle: 4,
		Dial: func() (redigo.Conn, error) {
			return redigo.Dial("tcp", rsAddr(), redigo.DialContextFunc(rsDial(writes)))
		},
	}
	b.Cleanup(func() { pool.Close() })
	sm := scs.New()
	sm.Store = redisstore.NewWithPrefix(pool, rsPrefix(b))
	sm.Cookie.Secure = true
	var i atomic.Int64
	h := sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			sm.Put(r.Context(), "user", "user-"+strconv.FormatInt(i.Add(1), 10))
			return
		}
		if sm.GetString(r.Context(), "user") == "" {
			panic("no user in session")
		}
	}))
	return h, rsSession(b, h, sm.Cookie.Name)
}

// BenchmarkSessionRedisOverhead measures each library's requests against bare
// go-redis doing the same commands, alternating one of each per iteration
// so that both see the same machine load, and reports the ratio of their
// median latencies ("x-bare"): 1.00 would be a session layer that costs
// nothing beyond its Redis round trips.
func BenchmarkSessionRedisOverhead(b *testing.B) {
	for _, tc := range []struct {
		name   string
		method string
		write  bool
	}{
		{"bulwark/GET", http.MethodGet, false}, {"bulwark/POST", http.MethodPost, true},
		{"scs/GET", http.MethodGet, false}, {"scs/POST", http.MethodPost, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var writes atomic.Int64
			client := rsClient(b, &writes)
			var h http.Handler
			var cookie string
			if strings.HasPrefix(tc.name, "scs/") {
				h, cookie = rsSCS(b, &writes)
			} else {
				h, cookie = rsBulwark(b, client)
			}
			r := rsRequest(tc.method, cookie)
			ctx := context.Background()
			key := rsPrefix(b) + "k"
			val := []byte(`{"v":1,"c":1764028800,"d":{"user":"user-1"}}`)
			if err := client.Set(ctx, key, val, 14*24*time.Hour).Err(); err != nil {
				b.Fatal(err)
			}
			w := &rsSink{}
			var ours, bare []time.Duration
			for b.Loop() {
				t0 := time.Now()
				w.h = http.Header{}
				h.ServeHTTP(w, r)
				t1 := time.Now()
				if _, err := client.Get(ctx, key).Bytes(); err != nil {
					b.Fatal(err)
				}
				if tc.write {
					if err := client.Set(ctx, key, val, 14*24*time.Hour).Err(); err != nil {
						b.Fatal(err)
					}
				}
				t2 := time.Now()
				ours = append(ours, t1.Sub(t0))
				bare = append(bare, t2.Sub(t1))
			}
			b.ReportMetric(float64(rsMedian(ours))/float64(rsMedian(bare)), "x-bare")
		})
	}
}

func rsMedian(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}

func BenchmarkSessionRedis(b *testing.B) {
	b.Run("bulwark", func(b *testing.B) {
		var writes atomic.Int64
		h, cookie := rsBulwark(b, rsClient(b, &writes))
		b.Run("GET", func(b *testing.B) { rsRun(b, h, rsRequest(http.MethodGet, cookie), &writes) })
		b.Run("POST", func(b *testing.B) { rsRun(b, h, rsRequest(http.MethodPost, cookie), &writes) })
	})

	b.Run("scs", func(b *testing.B) {
		var writes atomic.Int64
		h, cookie := rsSCS(b, &writes)
		b.Run("GET", func(b *testing.B) { rsRun(b, h, rsRequest(http.MethodGet, cookie), &writes) })
		b.Run("POST", func(b *testing.B) { rsRun(b, h, rsRequest(http.MethodPost, cookie), &writes) })
	})

	// The floor: the same storage work with bare go-redis, no HTTP, no
	// encoding. The value is the size of a one-value Bulwark record.
	b.Run("go-redis", func(b *testing.B) {
		var writes atomic.Int64
		c := rsClient(b, &writes)
		ctx := context.Background()
		key := rsPrefix(b) + "k"
		val := []byte(`{"v":1,"c":1764028800,"d":{"user":"user-1"}}`)
		if err := c.Set(ctx, key, val, 14*24*time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
		run := func(b *testing.B, write bool) {
			b.ReportAllocs()
			writes.Store(0)
			cpu := rsCPU()
			for b.Loop() {
				if _, err := c.Get(ctx, key).Bytes(); err != nil {
					b.Fatal(err)
				}
				if write {
					if err := c.Set(ctx, key, val, 14*24*time.Hour).Err(); err != nil {
						b.Fatal(err)
					}
				}
			}
			rsReport(b, writes.Load(), rsCPU()-cpu)
		}
		b.Run("GET", func(b *testing.B) { run(b, false) })
		b.Run("GET+SET", func(b *testing.B) { run(b, true) })
	})
}
