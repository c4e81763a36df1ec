package pgstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
)

// newStore returns a store on a table of its own, dropped when t ends.
func newStore(t *testing.T, pool *pgxpool.Pool) (*pgstore.Store, string) {
	t.Helper()
	table := testsvc.Unique("bulwark_test_rl_")
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()); err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	})
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return s, table
}

func TestConformance(t *testing.T) {
	pool := testsvc.Postgres(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store {
		s, _ := newStore(t, pool)
		return s
	})
}

func TestSweep(t *testing.T) {
	pool := testsvc.Postgres(t)
	s, table := newStore(t, pool)
	ctx := context.Background()
	fast := ratelimit.Limit{Interval: time.Millisecond, Burst: 1}
	ratelimittest.MustTake(t, s, "recovers", fast, 1)
	ratelimittest.MustTake(t, s, "stays", ratelimittest.Slow(2), 1)
	time.Sleep(10 * time.Millisecond)
	n, err := s.Sweep(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	var left []byte
	if err := pool.QueryRow(ctx, `SELECT key FROM `+pgx.Identifier{table}.Sanitize()).Scan(&left); err != nil || string(left) != "stays" {
		t.Fatalf("left %q, %v", left, err)
	}
	ratelimittest.MustAllow(t, s, "stays", ratelimittest.Slow(2), 0)
}

func TestConfig(t *testing.T) {
	for _, c := range []pgstore.Config{{Table: "1x"}, {Table: "a-b"}, {Table: "a;DROP"}, {Schema: "x y"},
		{Table: "a23456789012345678901234567890123456789012345678901234567"}} {
		if c.Validate() == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := pgstore.New(context.Background(), nil, pgstore.Config{}); err == nil {
		t.Error("nil pool accepted")
	}
}

// Several instances starting at once on a new table all succeed, and two
// stores on two pools (two gateways) share one limit.
func TestShared(t *testing.T) {
	p1 := testsvc.Postgres(t)
	p2 := testsvc.Postgres(t)
	table := testsvc.Unique("bulwark_test_rl_")
	t.Cleanup(func() { p1.Exec(context.Background(), `DROP TABLE IF EXISTS `+table) })
	stores := make([]*pgstore.Store, 6)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			p := p1
			if i%2 == 1 {
				p = p2
			}
			s, err := pgstore.New(context.Background(), p, pgstore.Config{Table: table})
			if err != nil {
				t.Error(err)
			}
			stores[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	l := ratelimittest.Slow(3)
	ratelimittest.MustAllow(t, stores[0], "k", l, 2)
	ratelimittest.MustAllow(t, stores[1], "k", l, 1)
	ratelimittest.MustAllow(t, stores[2], "k", l, 0)
	ratelimittest.MustRefuse(t, stores[3], "k", l)
}
