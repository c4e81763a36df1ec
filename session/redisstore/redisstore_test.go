package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/redisstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// newStore returns a store under a prefix of its own on the test Redis, and
// deletes every key under that prefix when t ends.
func newStore(t *testing.T, client redis.UniversalClient) (*redisstore.Store, string) {
	t.Helper()
	prefix := testsvc.Unique("bulwark:test:") + ":"
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
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
	})
	return s, prefix
}

func TestConformance(t *testing.T) {
	client := testsvc.Redis(t)
	sessiontest.Run(t, func(t *testing.T) session.Store {
		s, _ := newStore(t, client)
		return s
	})
}

// A UniversalClient built from options (what an application configures)
// works too; with one address it is a plain client, with several a
// Cluster client, and the store issues only single-key commands either way.
func TestUniversalClient(t *testing.T) {
	testsvc.Redis(t) // skip or fail as for the others
	c := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{testsvc.RedisAddr()}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { c.Close() }) // after newStore's cleanup
	s, _ := newStore(t, c)
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("v"), sessiontest.Live())
	sessiontest.MustFind(t, s, k)
}

func TestKeysArePrefixed(t *testing.T) {
	client := testsvc.Redis(t)
	s, prefix := newStore(t, client)
	ctx := context.Background()
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("data"), time.Now().Add(time.Minute))
	got, err := client.Get(ctx, prefix+k).Result()
	if err != nil || got != "data" {
		t.Fatalf("GET %s<key> = %q, %v; want the record", prefix, got, err)
	}
	// A key outside the prefix is out of reach: the store looks it up
	// under its prefix.
	other := testsvc.Unique("bulwark:test:outside:")
	client.Set(ctx, other, "not a session", time.Minute)
	defer client.Del(ctx, other)
	sessiontest.MustNotFind(t, s, other)
	// The default prefix.
	d, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	dk := sessiontest.Key()
	sessiontest.MustCommit(t, d, dk, []byte("x"), time.Now().Add(time.Minute))
	defer client.Del(ctx, redisstore.DefaultPrefix+dk)
	if n, err := client.Exists(ctx, redisstore.DefaultPrefix+dk).Result(); err != nil || n != 1 {
		t.Fatalf("default prefix: EXISTS = %d, %v", n, err)
	}
}

func TestTTL(t *testing.T) {
	client := testsvc.Redis(t)
	s, prefix := newStore(t, client)
	ctx := context.Background()
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("x"), time.Now().Add(90*time.Second))
	ttl, err := client.PTTL(ctx, prefix+k).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 89*time.Second || ttl > 90*time.Second {
		t.Fatalf("PTTL = %v, want just under 90s", ttl)
	}
	// A past expiry deletes the key outright.
	sessiontest.MustCommit(t, s, k, []byte("x"), time.Now().Add(-time.Second))
	if n, err := client.Exists(ctx, prefix+k).Result(); err != nil || n != 0 {
		t.Fatalf("after a commit with a past expiry, EXISTS = %d, %v; want 0", n, err)
	}
	// So does one less than a millisecond away, which PX cannot express.
	sessiontest.MustCommit(t, s, k, []byte("x"), sessiontest.Live())
	sessiontest.MustCommit(t, s, k, []byte("x"), time.Now().Add(100*time.Microsecond))
	sessiontest.MustNotFind(t, s, k)
}

// A key holding another type (tampering, or a clash with other data) is
// not a session: not found, no error, and a Commit replaces it.
func TestWrongTypeIsNotFound(t *testing.T) {
	client := testsvc.Redis(t)
	s, prefix := newStore(t, client)
	ctx := context.Background()
	k := sessiontest.Key()
	if err := client.RPush(ctx, prefix+k, "a", "b").Err(); err != nil {
		t.Fatal(err)
	}
	sessiontest.MustNotFind(t, s, k)
	sessiontest.MustCommit(t, s, k, []byte("mine"), sessiontest.Live())
	if got := sessiontest.MustFind(t, s, k); string(got) != "mine" {
		t.Fatalf("Find = %q", got)
	}
}

// counter counts the commands and pipelines that reach the network.
type counter struct{ cmds, pipes atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.cmds.Add(1)
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.pipes.Add(1)
		return next(ctx, cmds)
	}
}

// Each operation is one round trip: a request that only reads its session
// costs Redis one GET.
func TestOneRoundTripEach(t *testing.T) {
	testsvc.Redis(t)
	client := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() }) // after newStore's cleanup
	client.Ping(context.Background())    // connection set-up is not a request's cost
	var c counter
	client.AddHook(&c)
	s, _ := newStore(t, client)
	ctx := context.Background()
	k := sessiontest.Key()
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"Commit", func() error { return s.Commit(ctx, k, []byte("v"), sessiontest.Live()) }},
		{"Find", func() error { _, _, err := s.Find(ctx, k); return err }},
		{"Find(unknown)", func() error { _, _, err := s.Find(ctx, sessiontest.Key()); return err }},
		{"Update", func() error { _, err := s.Update(ctx, k, []byte("w"), sessiontest.Live()); return err }},
		{"Update(unknown)", func() error { _, err := s.Update(ctx, sessiontest.Key(), []byte("w"), sessiontest.Live()); return err }},
		{"Commit(past expiry)", func() error { return s.Commit(ctx, k, []byte("v"), time.Now().Add(-time.Hour)) }},
		{"Delete", func() error { return s.Delete(ctx, k) }},
	} {
		c.cmds.Store(0)
		c.pipes.Store(0)
		if err := op.fn(); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		if n, p := c.cmds.Load(), c.pipes.Load(); n != 1 || p != 0 {
			t.Errorf("%s: %d commands and %d pipelines, want exactly 1 command", op.name, n, p)
		}
	}
}

// Stores fail closed: an unreachable Redis is an error, never "not found".
func TestUnreachableIsAnError(t *testing.T) {
	// A listener that accepts and never answers: the worst kind of outage.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	redis.SetLogger(discard{})
	client := redis.NewClient(&redis.Options{
		ContextTimeoutEnabled: true,
		Addr:                  ln.Addr().String(),
		ReadTimeout:           100 * time.Millisecond,
		WriteTimeout:          100 * time.Millisecond,
		MaxRetries:            -1,
	})
	defer client.Close()
	s, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.MustFailClosed(t, s, sessiontest.Key(), "redisstore: ")
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// The store never logs.
func TestNeverLogs(t *testing.T) {
	s, _ := newStore(t, testsvc.Redis(t))
	sessiontest.MustNotLog(t, s)
}

func TestConfig(t *testing.T) {
	if _, err := redisstore.New(nil, redisstore.Config{}); err == nil {
		t.Error("New accepted a nil client")
	}
	if err := (redisstore.Config{Prefix: strings.Repeat("p", 257)}).Validate(); err == nil {
		t.Error("Validate accepted a 257-byte prefix")
	}
	if err := (redisstore.Config{Prefix: "app:{sessions}:"}).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func Example() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer client.Close()
	store, err := redisstore.New(client, redisstore.Config{Prefix: "myapp:session:"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Hand store to the session manager; every session key becomes
	// "myapp:session:<key>" with a TTL.
	_ = store
}
