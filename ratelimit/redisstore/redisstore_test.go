package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
	"github.com/bulwarkdev/bulwark/ratelimit/redisstore"
)

// newStore returns a store under a prefix of its own on the test Redis,
// and deletes every key under that prefix when t ends.
func newStore(t *testing.T, client redis.UniversalClient) (*redisstore.Store, string) {
	t.Helper()
	prefix := testsvc.Unique("bulwark:test:rl:") + ":"
	s, err := redisstore.New(client, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	return s, prefix
}

func TestConformance(t *testing.T) {
	client := testsvc.Redis(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store {
		s, _ := newStore(t, client)
		return s
	})
}

// Keys sit under the prefix, hold the TAT and expire once recovered.
func TestKeys(t *testing.T) {
	client := testsvc.Redis(t)
	s, prefix := newStore(t, client)
	ctx := context.Background()
	l := ratelimit.Limit{Interval: time.Minute, Burst: 5}
	ratelimittest.MustTake(t, s, "k", l, 1)
	ttl, err := client.PTTL(ctx, prefix+"k").Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("PTTL = %s, %v; want at most one interval", ttl, err)
	}
	v, err := client.Get(ctx, prefix+"k").Result()
	if _, perr := strconv.ParseInt(v, 10, 64); err != nil || perr != nil {
		t.Fatalf("GET = %q, %v; want a decimal integer", v, err)
	}
	// A refund to full allowance deletes the key.
	ratelimittest.MustTake(t, s, "k", l, -1)
	if n, _ := client.Exists(ctx, prefix+"k").Result(); n != 0 {
		t.Fatal("key left after a full refund")
	}
	// Something else at the key is overwritten, not an outage.
	client.HSet(ctx, prefix+"h", "f", "v")
	client.Set(ctx, prefix+"g", "garbage", time.Minute)
	ratelimittest.MustAllow(t, s, "h", l, 4)
	ratelimittest.MustAllow(t, s, "g", l, 4)
	// The default prefix.
	d, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	k := ratelimittest.Key()
	ratelimittest.MustTake(t, d, k, l, 1)
	defer client.Del(ctx, redisstore.DefaultPrefix+k)
	if n, _ := client.Exists(ctx, redisstore.DefaultPrefix+k).Result(); n != 1 {
		t.Fatal("default prefix not used")
	}
}

func TestNew(t *testing.T) {
	if _, err := redisstore.New(nil, redisstore.Config{}); err == nil {
		t.Fatal("nil client accepted")
	}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	if _, err := redisstore.New(c, redisstore.Config{Prefix: string(make([]byte, 257))}); err == nil {
		t.Fatal("long prefix accepted")
	}
}

// Two stores on two clients (two gateways) share one limit.
func TestShared(t *testing.T) {
	c1 := testsvc.Redis(t)
	c2 := testsvc.Redis(t)
	s1, prefix := newStore(t, c1)
	s2, err := redisstore.New(c2, redisstore.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	l := ratelimittest.Slow(4)
	ratelimittest.MustAllow(t, s1, "k", l, 3)
	ratelimittest.MustAllow(t, s2, "k", l, 2)
	ratelimittest.MustAllow(t, s1, "k", l, 1)
	ratelimittest.MustAllow(t, s2, "k", l, 0)
	ratelimittest.MustRefuse(t, s1, "k", l)
	ratelimittest.MustRefuse(t, s2, "k", l)
}

// A frozen server (SIGSTOP: connections accepted, nothing answered) costs
// each call no more than its deadline, and the store recovers on SIGCONT
// without a new client.
func TestFrozenServer(t *testing.T) {
	srv := testsvc.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { client.Close() })
	s, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	l := ratelimittest.Slow(3)
	ratelimittest.MustAllow(t, s, "k", l, 2)
	srv.Freeze()
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		start := time.Now()
		_, err := s.Take(ctx, "k", l, 1)
		cancel()
		if err == nil {
			t.Fatal("Take on a frozen server succeeded")
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("Take on a frozen server took %s with a 250ms deadline", d)
		}
	}
	srv.Thaw()
	// Recovery without restart. The calls cut short may or may not have
	// reached the script: nothing is half-written, so the count is
	// between 1 and 4 (the burst).
	deadline := time.Now().Add(5 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		res, err := s.Take(ctx, "k2", l, 1)
		cancel()
		if err == nil {
			if !res.Allowed || res.Remaining != 2 {
				t.Fatalf("after SIGCONT: %+v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after SIGCONT: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	v, err := client.Get(context.Background(), redisstore.DefaultPrefix+"k").Int64()
	if err != nil || v <= 0 {
		t.Fatalf("the key holds %d, %v; want a TAT", v, err)
	}
}
