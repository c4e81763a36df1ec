package sessiontest_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// mapStore is the smallest store that meets the contract: a map under a
// mutex, copying data in and out, filtering expired records and purging
// them.
type mapStore struct {
	mu sync.Mutex
	m  map[string]record
}

type record struct {
	data   []byte
	expiry time.Time
}

var (
	_ session.Store   = (*mapStore)(nil)
	_ session.Purger  = (*mapStore)(nil)
	_ session.Updater = (*mapStore)(nil)
)

func (s *mapStore) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("mapstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok || !time.Now().Before(r.expiry) {
		return nil, false, nil
	}
	return slices.Clone(r.data), true, nil
}

func (s *mapStore) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mapstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = record{append([]byte(nil), data...), expiry}
	return nil
}

func (s *mapStore) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("mapstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok || !time.Now().Before(r.expiry) {
		return false, nil
	}
	s.m[key] = record{append([]byte(nil), data...), expiry}
	return true, nil
}

func (s *mapStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mapstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *mapStore) Purge(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("mapstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	now := time.Now()
	for k, r := range s.m {
		if !now.Before(r.expiry) {
			delete(s.m, k)
			n++
		}
	}
	return n, nil
}

func TestRunMapStore(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		return &mapStore{m: make(map[string]record)}
	})
}

// The suite must catch broken stores, or it proves nothing. Each of these
// stores breaks one clause of the contract; running the suite on it must
// fail.
type (
	// aliasing keeps the caller's slice.
	aliasing struct{ *mapStore }
	// leaky returns its own slice.
	leaky struct{ *mapStore }
	// immortal ignores expiry.
	immortal struct{ *mapStore }
	// deaf ignores ctx.
	deaf struct{ *mapStore }
	// folding lowercases keys.
	folding struct{ *mapStore }
	// strict fails on unknown keys instead of reporting not found.
	strict struct{ *mapStore }
	// lazyPurger never removes anything.
	lazyPurger struct{ *mapStore }
	// upserter's Update writes whether or not the record exists.
	upserter struct{ *mapStore }
	// staleUpdater's Update revives expired records.
	staleUpdater struct{ *mapStore }
)

func (s upserter) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	return true, s.mapStore.Commit(ctx, key, data, expiry)
}

func (s staleUpdater) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	s.mu.Lock()
	_, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, s.mapStore.Commit(ctx, key, data, expiry)
}

func (s aliasing) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = record{data, expiry}
	return nil
}

func (s leaky) Find(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok || !time.Now().Before(r.expiry) {
		return nil, false, nil
	}
	return r.data, true, nil
}

func (s immortal) Find(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	return slices.Clone(r.data), ok, nil
}

func (s deaf) Commit(_ context.Context, key string, data []byte, expiry time.Time) error {
	return s.mapStore.Commit(context.Background(), key, data, expiry)
}

func (s folding) Find(ctx context.Context, key string) ([]byte, bool, error) {
	return s.mapStore.Find(ctx, lower(key))
}

func (s folding) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	return s.mapStore.Commit(ctx, lower(key), data, expiry)
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (s strict) Find(ctx context.Context, key string) ([]byte, bool, error) {
	data, found, err := s.mapStore.Find(ctx, key)
	if err == nil && !found {
		return nil, false, fmt.Errorf("strict: no such key")
	}
	return data, found, err
}

func (s lazyPurger) Purge(ctx context.Context) (int64, error) { return 0, nil }

// plain hides Purge.
type plain struct{ session.Store }

var broken = map[string]func(*mapStore) session.Store{
	"aliasing":   func(m *mapStore) session.Store { return plain{aliasing{m}} },
	"leaky":      func(m *mapStore) session.Store { return plain{leaky{m}} },
	"immortal":   func(m *mapStore) session.Store { return plain{immortal{m}} },
	"deaf":       func(m *mapStore) session.Store { return plain{deaf{m}} },
	"folding":    func(m *mapStore) session.Store { return plain{folding{m}} },
	"strict":     func(m *mapStore) session.Store { return plain{strict{m}} },
	"lazyPurger": func(m *mapStore) session.Store { return lazyPurger{m} },
	"upserter":   func(m *mapStore) session.Store { return upserter{m} },
	"stale":      func(m *mapStore) session.Store { return staleUpdater{m} },
}

// TestBrokenStore runs the suite on the broken store named by
// $SESSIONTEST_BROKEN; TestRunCatchesBrokenStores runs it in a child
// process and expects it to fail.
func TestBrokenStore(t *testing.T) {
	name := os.Getenv("SESSIONTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestRunCatchesBrokenStores")
	}
	sessiontest.Run(t, func(*testing.T) session.Store {
		return broken[name](&mapStore{m: make(map[string]record)})
	})
}

func TestRunCatchesBrokenStores(t *testing.T) {
	tests := []struct{ store, subtest string }{
		{"aliasing", "CommitCopiesData"},
		{"leaky", "FindReturnsCopy"},
		{"immortal", "Expiry"},
		{"immortal", "PastExpiry"},
		{"deaf", "CancelledContext"},
		{"folding", "KeysAreExact"},
		{"strict", "UnknownKeys"},
		{"lazyPurger", "Purge"},
		{"upserter", "UpdateAfterDelete"},
		{"upserter", "UpdateHostileKeys"},
		{"stale", "UpdateAfterExpiry"},
	}
	for _, tt := range tests {
		t.Run(tt.store+"/"+tt.subtest, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStore$/^"+tt.subtest+"$", "-test.v")
			cmd.Env = append(os.Environ(), "SESSIONTEST_BROKEN="+tt.store)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a %s store; want %s to fail\n%s", tt.store, tt.subtest, out)
			}
			if want := "--- FAIL: TestBrokenStore/" + tt.subtest; !strings.Contains(string(out), want) {
				t.Fatalf("output lacks %q:\n%s", want, out)
			}
		})
	}
}

func TestKeyShape(t *testing.T) {
	seen := make(map[string]bool)
	for range 100 {
		k := sessiontest.Key()
		if len(k) != 43 || strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("Key() = %q, want 43 URL-safe base64 characters", k)
		}
		if seen[k] {
			t.Fatalf("Key() repeated %q", k)
		}
		seen[k] = true
	}
	for _, k := range sessiontest.HostileKeys() {
		if len(k) > 256 {
			t.Fatalf("hostile key of %d bytes, the documented maximum is 256", len(k))
		}
	}
}

// down is a store whose backend has failed. How it reports that is set by
// its mode: "closed" as it should, "swallowing" Find reports not found,
// "leaky" its errors quote the key, "bare" its errors lack the prefix.
type down struct{ mode string }

func (d down) err(key string) error {
	switch d.mode {
	case "leaky":
		return fmt.Errorf("downstore: no connection for %q", key)
	case "bare":
		return fmt.Errorf("no connection")
	}
	return fmt.Errorf("downstore: no connection")
}

func (d down) Find(_ context.Context, key string) ([]byte, bool, error) {
	if d.mode == "swallowing" {
		return nil, false, nil
	}
	return nil, false, d.err(key)
}
func (d down) Commit(_ context.Context, key string, _ []byte, _ time.Time) error { return d.err(key) }
func (d down) Delete(_ context.Context, key string) error                        { return d.err(key) }

func TestMustFailClosed(t *testing.T) {
	if mode := os.Getenv("SESSIONTEST_DOWN"); mode != "" {
		sessiontest.MustFailClosed(t, down{mode}, sessiontest.Key(), "downstore: ")
		return
	}
	sessiontest.MustFailClosed(t, down{"closed"}, sessiontest.Key(), "downstore: ")
	for _, mode := range []string{"swallowing", "leaky", "bare"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMustFailClosed$")
			cmd.Env = append(os.Environ(), "SESSIONTEST_DOWN="+mode)
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Fatalf("MustFailClosed passed a %s store\n%s", mode, out)
			}
		})
	}
}

// chatty logs each key it finds, through slog or the log package.
type chatty struct {
	*mapStore
	viaLog bool
}

func (c chatty) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if c.viaLog {
		log.Printf("find %s", key)
	} else {
		slog.Debug("find", "key", key)
	}
	return c.mapStore.Find(ctx, key)
}

func TestMustNotLog(t *testing.T) {
	if mode := os.Getenv("SESSIONTEST_CHATTY"); mode != "" {
		sessiontest.MustNotLog(t, chatty{&mapStore{m: make(map[string]record)}, mode == "log"})
		return
	}
	sessiontest.MustNotLog(t, &mapStore{m: make(map[string]record)})
	for _, mode := range []string{"slog", "log"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMustNotLog$")
			cmd.Env = append(os.Environ(), "SESSIONTEST_CHATTY="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "the store logged") {
				t.Fatalf("MustNotLog passed a store logging through %s\n%s", mode, out)
			}
		})
	}
}
