package pgstore_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
)

// freezer relays TCP connections to a server and can stop relaying, as
// the server looks to its clients when it is stopped with SIGSTOP: the
// connections stay open, new ones are accepted, nothing is answered. (The
// test PostgreSQL is shared, so it cannot be stopped itself.)
type freezer struct {
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newFreezer(t *testing.T, target string) *freezer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, c, s)
			f.mu.Unlock()
			go f.relay(s, c)
			go f.relay(c, s)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	return f
}

func (f *freezer) relay(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for f.frozen.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			// One side gone: so is the other, as for a direct connection.
			dst.Close()
			return
		}
	}
}

// A frozen server costs each Take no more than its deadline, and the
// store recovers when the server does, with the same pool.
func TestFrozenServer(t *testing.T) {
	shared := testsvc.Postgres(t)
	cfg, err := pgxpool.ParseConfig(testsvc.PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	fr := newFreezer(t, net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port))))
	cfg.ConnConfig.Host = "127.0.0.1"
	cfg.ConnConfig.Port = uint16(fr.ln.Addr().(*net.TCPAddr).Port)
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
	fr.frozen.Store(true)
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
	fr.frozen.Store(false)
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
