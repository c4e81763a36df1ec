package cluster_test

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// stores returns every implementation, each on a fresh namespace of the
// shared test services.
func stores(t *testing.T) map[string]func(t *testing.T) cluster.Store {
	return map[string]func(t *testing.T) cluster.Store{
		"memory": func(t *testing.T) cluster.Store { return cluster.NewMemory() },
		"redis": func(t *testing.T) cluster.Store {
			return openShared(t, "redis://"+testsvc.RedisAddr()+"/0", testsvc.Redis)
		},
		"postgres": func(t *testing.T) cluster.Store { return openShared(t, testsvc.PostgresURL(), testsvc.Postgres) },
	}
}

// openShared opens the shared test service at url under a unique prefix
// (check reaches the service first, to skip or fail as testsvc does).
func openShared[T any](t *testing.T, url string, check func(testing.TB) T) cluster.Store {
	t.Helper()
	check(t)
	prefix := testsvc.Unique("bwcl_")
	s, err := cluster.Open(context.Background(), cluster.Options{URL: url, Prefix: prefix, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := s.List(ctx, "")
		for _, k := range keys {
			s.Delete(ctx, k)
		}
		if testsvc.PostgresURL() == url {
			p := testsvc.Postgres(t)
			p.Exec(ctx, "DROP TABLE IF EXISTS "+prefix+"_kv, "+prefix+"_lock")
		}
		s.Close()
	})
	return s
}

// TestStoreConformance runs the Store contract against every store.
func TestStoreConformance(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			ctx := context.Background()
			if _, _, err := s.Get(ctx, "missing"); !errors.Is(err, cluster.ErrNotFound) {
				t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
			}
			before := time.Now().Add(-time.Second)
			for _, kv := range []struct{ k, v string }{
				{"a/b", "1"}, {"a/c", "2"}, {"a/d/e", "3"}, {"ab", "4"},
				{"x*[]?\\^-y", "glob"}, // pattern characters are literal
				{"empty", ""},
			} {
				if err := s.Put(ctx, kv.k, []byte(kv.v)); err != nil {
					t.Fatal(err)
				}
			}
			v, mod, err := s.Get(ctx, "a/b")
			if err != nil || string(v) != "1" || mod.Before(before) || mod.After(time.Now().Add(time.Second)) {
				t.Fatalf("Get(a/b) = %q, %v, %v", v, mod, err)
			}
			if v, _, err := s.Get(ctx, "empty"); err != nil || len(v) != 0 {
				t.Fatalf("Get(empty) = %q, %v", v, err)
			}
			if err := s.Put(ctx, "a/b", []byte("1b")); err != nil {
				t.Fatal(err)
			}
			if v, _, _ := s.Get(ctx, "a/b"); string(v) != "1b" {
				t.Fatalf("after overwrite: %q", v)
			}
			for _, tc := range []struct {
				prefix string
				want   []string
			}{
				{"a/", []string{"a/b", "a/c", "a/d/e"}},
				{"a", []string{"a/b", "a/c", "a/d/e", "ab"}},
				{"x*[]?\\^-", []string{"x*[]?\\^-y"}},
				{"x*", []string{"x*[]?\\^-y"}},
				{"x?", nil},
				{"zzz", nil},
			} {
				got, err := s.List(ctx, tc.prefix)
				slices.Sort(got)
				if err != nil || !slices.Equal(got, tc.want) {
					t.Errorf("List(%q) = %q, %v; want %q", tc.prefix, got, err, tc.want)
				}
			}
			if err := s.Delete(ctx, "a/b"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "a/b"); err != nil {
				t.Fatalf("deleting a missing key: %v", err)
			}
			if _, _, err := s.Get(ctx, "a/b"); !errors.Is(err, cluster.ErrNotFound) {
				t.Fatalf("Get after Delete: %v", err)
			}

			// Leases: exclusive, re-entrant for the owner, expiring,
			// released only by their owner.
			ok, err := s.TryLock(ctx, "l", "one", 300*time.Millisecond)
			if !ok || err != nil {
				t.Fatalf("TryLock(free) = %v, %v", ok, err)
			}
			if ok, err := s.TryLock(ctx, "l", "two", time.Minute); ok || err != nil {
				t.Fatalf("TryLock(held by another) = %v, %v", ok, err)
			}
			if ok, err := s.TryLock(ctx, "l", "one", 300*time.Millisecond); !ok || err != nil {
				t.Fatalf("TryLock(own, extend) = %v, %v", ok, err)
			}
			if err := s.Unlock(ctx, "l", "two"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := s.TryLock(ctx, "l", "two", time.Minute); ok {
				t.Fatal("Unlock by a non-owner released the lease")
			}
			time.Sleep(400 * time.Millisecond)
			if ok, err := s.TryLock(ctx, "l", "two", time.Minute); !ok || err != nil {
				t.Fatalf("TryLock(expired) = %v, %v", ok, err)
			}
			if err := s.Unlock(ctx, "l", "two"); err != nil {
				t.Fatal(err)
			}
			if ok, _ := s.TryLock(ctx, "l", "three", time.Minute); !ok {
				t.Fatal("lease not free after its owner's Unlock")
			}

			// Exactly one of many concurrent takers wins.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if ok, _ := s.TryLock(ctx, "race", string(rune('a'+i)), time.Minute); ok {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d concurrent takers won the lease, want 1", wins.Load())
			}

			// A cancelled context fails the call and writes nothing.
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			if err := s.Put(cctx, "cancelled", []byte("x")); err == nil {
				t.Fatal("Put with a cancelled context succeeded")
			}
			if _, _, err := s.Get(ctx, "cancelled"); !errors.Is(err, cluster.ErrNotFound) {
				t.Fatalf("a cancelled Put wrote: %v", err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		o  cluster.Options
		ok bool
	}{
		{cluster.Options{URL: "redis://127.0.0.1:6379/0"}, true},
		{cluster.Options{URL: "rediss://u:p@redis.internal:6380"}, true},
		{cluster.Options{URL: "postgres://u@127.0.0.1/db?sslmode=disable", Prefix: "fleet_a", Timeout: 5 * time.Second}, true},
		{cluster.Options{URL: "postgresql://127.0.0.1/db"}, true},
		{cluster.Options{}, false},
		{cluster.Options{URL: "mysql://127.0.0.1/db"}, false},
		{cluster.Options{URL: "redis:///0"}, false},
		{cluster.Options{URL: "redis://127.0.0.1", Timeout: -1}, false},
		{cluster.Options{URL: "redis://127.0.0.1", Timeout: time.Hour}, false},
		{cluster.Options{URL: "redis://127.0.0.1", Prefix: "Bad"}, false},
		{cluster.Options{URL: "redis://127.0.0.1", Prefix: "a; DROP TABLE x"}, false},
		{cluster.Options{URL: "redis://127.0.0.1", Prefix: "1abc"}, false},
		{cluster.Options{URL: "%zz"}, false},
	} {
		err := tc.o.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tc.o, err, tc.ok)
		}
		if err != nil && !errors.Is(err, cluster.ErrInvalid) {
			t.Errorf("Validate(%+v) = %v, does not wrap ErrInvalid", tc.o, err)
		}
	}
	// A password in the URL never reaches an error message.
	err := cluster.Options{URL: "redis://user:s3cret@127.0.0.1:6379/x?bad=%zz"}.Validate()
	if err != nil && contains(err.Error(), "s3cret") {
		t.Errorf("error quotes the password: %v", err)
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// TestFrozenStore freezes a Redis and a PostgreSQL of the test's own with
// SIGSTOP: every call fails within the timeout (plus scheduling slack)
// instead of hanging, and after SIGCONT the same Store works again,
// without reopening it.
func TestFrozenStore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own servers")
	}
	for name, start := range map[string]func(testing.TB) *testsvc.Server{
		"redis": testsvc.StartRedis, "postgres": testsvc.StartPostgres,
	} {
		t.Run(name, func(t *testing.T) {
			srv := start(t)
			const timeout = 300 * time.Millisecond
			s, err := cluster.Open(context.Background(), cluster.Options{URL: srv.URL, Timeout: timeout, Prefix: "frozen"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			if err := s.Put(ctx, "k", []byte("v1")); err != nil {
				t.Fatal(err)
			}
			srv.Freeze()
			thawed := false
			defer func() {
				if !thawed {
					srv.Thaw()
				}
			}()
			for _, op := range []struct {
				name string
				f    func() error
			}{
				{"Get", func() error { _, _, err := s.Get(ctx, "k"); return err }},
				{"Put", func() error { return s.Put(ctx, "k", []byte("v2")) }},
				{"List", func() error { _, err := s.List(ctx, ""); return err }},
				{"TryLock", func() error { _, err := s.TryLock(ctx, "l", "o", time.Minute); return err }},
			} {
				begin := time.Now()
				err := op.f()
				took := time.Since(begin)
				if err == nil {
					t.Errorf("%s on a frozen store succeeded", op.name)
				}
				if took > timeout+1500*time.Millisecond { // slack for a loaded machine
					t.Errorf("%s on a frozen store took %v, want about %v", op.name, took, timeout)
				}
			}
			srv.Thaw()
			thawed = true
			var v []byte
			deadline := time.Now().Add(10 * time.Second)
			for {
				v, _, err = s.Get(ctx, "k")
				if err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatalf("after SIGCONT: %v", err)
			}
			// The Put that timed out may or may not have been applied by
			// the server once thawed (Redis runs commands it had read),
			// but never half: the value is one of the two.
			if string(v) != "v1" && string(v) != "v2" {
				t.Fatalf("after SIGCONT: value %q", v)
			}
		})
	}
}

// TestCertStorage checks the certmagic.Storage semantics on every store:
// directories, fs.ErrNotExist, and locks that exclude other gateways.
func TestCertStorage(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			a := cluster.NewCertStorage(s, "gw-a", nil)
			b := cluster.NewCertStorage(s, "gw-b", nil)
			ctx := context.Background()
			if _, err := a.Load(ctx, "certificates/ca/x.crt"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
			}
			for _, k := range []string{"certificates/ca/x/x.crt", "certificates/ca/x/x.key", "certificates/ca/y/y.crt", "acme/acct.json"} {
				if err := a.Store(ctx, k, []byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := b.Load(ctx, "certificates/ca/x/x.crt"); err != nil || string(v) != "certificates/ca/x/x.crt" {
				t.Fatalf("Load from another gateway = %q, %v", v, err)
			}
			if !b.Exists(ctx, "certificates/ca") || b.Exists(ctx, "certificates/c") {
				t.Fatal("Exists: directory or partial name wrong")
			}
			ki, err := b.Stat(ctx, "certificates/ca/x")
			if err != nil || ki.IsTerminal {
				t.Fatalf("Stat(directory) = %+v, %v", ki, err)
			}
			ki, err = b.Stat(ctx, "certificates/ca/x/x.key")
			if err != nil || !ki.IsTerminal || ki.Size != int64(len("certificates/ca/x/x.key")) {
				t.Fatalf("Stat(file) = %+v, %v", ki, err)
			}
			got, err := b.List(ctx, "certificates/ca", false)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, []string{"certificates/ca/x", "certificates/ca/y"}) {
				t.Fatalf("List(non-recursive) = %q, %v", got, err)
			}
			got, err = b.List(ctx, "certificates", true)
			slices.Sort(got)
			if err != nil || !slices.Equal(got, []string{"certificates/ca/x/x.crt", "certificates/ca/x/x.key", "certificates/ca/y/y.crt"}) {
				t.Fatalf("List(recursive) = %q, %v", got, err)
			}
			if err := b.Delete(ctx, "certificates/ca/x"); err != nil {
				t.Fatal(err)
			}
			if a.Exists(ctx, "certificates/ca/x/x.key") || !a.Exists(ctx, "certificates/ca/y/y.crt") {
				t.Fatal("Delete(directory) removed the wrong keys")
			}

			// Locks: b waits while a holds the name.
			if err := a.Lock(ctx, "issue_cert_x"); err != nil {
				t.Fatal(err)
			}
			short, cancel := context.WithTimeout(ctx, 600*time.Millisecond)
			if err := b.Lock(short, "issue_cert_x"); err == nil {
				t.Fatal("a second gateway took a held lock")
			}
			cancel()
			got2 := make(chan error, 1)
			go func() { got2 <- b.Lock(ctx, "issue_cert_x") }()
			time.Sleep(300 * time.Millisecond)
			select {
			case err := <-got2:
				t.Fatalf("lock taken while held: %v", err)
			default:
			}
			if err := a.Unlock(ctx, "issue_cert_x"); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-got2:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("lock not taken after its release")
			}
			b.Unlock(ctx, "issue_cert_x")
		})
	}
}

// The connection under a Store is reachable for other kinds of shared
// state, and only for the matching kind.
func TestUnderlyingConnections(t *testing.T) {
	r := openShared(t, "redis://"+testsvc.RedisAddr()+"/0", testsvc.Redis)
	if c := cluster.RedisClient(r); c == nil || !c.Options().ContextTimeoutEnabled || cluster.PostgresPool(r) != nil {
		t.Errorf("redis store: client %v, pool %v", c, cluster.PostgresPool(r))
	}
	if cluster.Timeout(r) != 3*time.Second {
		t.Errorf("Timeout = %v", cluster.Timeout(r))
	}
	p := openShared(t, testsvc.PostgresURL(), testsvc.Postgres)
	if cluster.PostgresPool(p) == nil || cluster.RedisClient(p) != nil {
		t.Error("postgres store: no pool, or a redis client")
	}
	m := cluster.NewMemory()
	if cluster.RedisClient(m) != nil || cluster.PostgresPool(m) != nil || cluster.Timeout(m) != 0 {
		t.Error("memory store has a connection")
	}
}
