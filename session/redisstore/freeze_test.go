package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session/redisstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// TestFrozenRedis freezes a redis-server of the test's own mid-use:
// requests get 503 within the store timeout, and recover after SIGCONT.
func TestFrozenRedis(t *testing.T) {
	srv := testsvc.StartRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	defer client.Close()
	s, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.RunOutage(t, sessiontest.Outage{Store: s, Freeze: srv.Freeze, Thaw: srv.Thaw, Timeout: 300 * time.Millisecond})
}

// TestNewRequiresContextTimeout: a client that ignores context deadlines
// would let a frozen Redis hold requests past the session deadline.
func TestNewRequiresContextTimeout(t *testing.T) {
	for _, c := range []redis.UniversalClient{
		redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}),
		redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}),
		redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}),
	} {
		if _, err := redisstore.New(c, redisstore.Config{}); err == nil {
			t.Errorf("%T without ContextTimeoutEnabled accepted", c)
		}
		c.Close()
	}
}
