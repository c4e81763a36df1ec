package pgstore_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
)

// A frozen server costs each Take no more than its deadline, and the
// store recovers when the server does, with the same pool.
func TestFrozenServer(t *testing.T) {
	shared := testsvc.Postgres(t)
	cfg, err := pgxpool.ParseConfig(testsvc.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	// The test PostgreSQL is shared: the relay in front of it freezes
	// instead.
	fr := testsvc.StartRelay(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	cfg.ConnConfig.Host = "127.0.0.1"
	cfg.ConnConfig.Port = uint16(fr.Port())
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	table := testsvc.Unique("bulwark_test_rl_")
	t.Cleanup(func() { shared.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()) })
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	l := ratelimittest.Slow(3)
	ratelimittest.MustAllow(t, s, "k", l, 2)
	fr.Freeze()
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
	fr.Thaw()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		res, err := s.Take(ctx, "k2", l, 1)
		cancel()
		if err == nil {
			if !res.Allowed || res.Remaining != 2 {
				t.Fatalf("after the thaw: %+v", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Nothing half-written: the row holds a whole decision.
	var tat, at int64
	var ok bool
	if err := shared.QueryRow(context.Background(), `SELECT tat, ok, at FROM `+pgx.Identifier{table}.Sanitize()+` WHERE key = $1`, []byte("k")).Scan(&tat, &ok, &at); err != nil || tat <= 0 {
		t.Fatalf("row of k: %d %v %d, %v", tat, ok, at, err)
	}
}
