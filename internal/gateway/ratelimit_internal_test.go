package gateway

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
)

// The sweeper of a PostgreSQL rate-limit table removes recovered rows
// while this gateway holds the fleet's lease, and leaves the table alone
// when another gateway holds it.
func TestSweepRateLimits(t *testing.T) {
	pool := testsvc.Postgres(t)
	table := testsvc.Unique("bwtest_sweep_")
	t.Cleanup(func() { pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()) })
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	rows := func() int {
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	old := rateSweepEvery
	rateSweepEvery = 20 * time.Millisecond
	t.Cleanup(func() { rateSweepEvery = old })
	g := &Gateway{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	fleet := cluster.NewMemory()
	// Another gateway holds the lease: nothing is swept.
	if ok, _ := fleet.TryLock(context.Background(), "ratelimit_sweep", "other", time.Hour); !ok {
		t.Fatal("no lease")
	}
	fast := ratelimit.Limit{Interval: time.Millisecond, Burst: 1}
	s.Take(context.Background(), "recovers", fast, 1)
	s.Take(context.Background(), "stays", ratelimit.Limit{Interval: time.Hour, Burst: 2}, 1)
	stop := make(chan struct{})
	go g.sweepRateLimits(s, fleet, "me", stop)
	time.Sleep(200 * time.Millisecond)
	close(stop)
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after sweeps under another gateway's lease, want 2", n)
	}
	// This gateway's turn.
	stop = make(chan struct{})
	defer close(stop)
	go g.sweepRateLimits(s, cluster.NewMemory(), "me", stop)
	deadline := time.Now().Add(5 * time.Second)
	for rows() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d rows: the recovered one was not swept", rows())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
