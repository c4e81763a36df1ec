package memstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

func newStore(t *testing.T, c memstore.Config) *memstore.Store {
	t.Helper()
	s, err := memstore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store { return newStore(t, memstore.Config{}) })
}

func TestValidate(t *testing.T) {
	for _, c := range []memstore.Config{{MaxEntries: -1}, {SweepInterval: -time.Second}} {
		if _, err := memstore.New(c); err == nil {
			t.Errorf("New(%+v) accepted a negative bound", c)
		}
	}
}

// TestBounded: a flood of sessions never grows the store past its bound,
// and expired records are the first to go.
func TestBounded(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newStore(t, memstore.Config{MaxEntries: 100, Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		s.Commit(ctx, sessiontest.Key(), []byte("x"), now.Add(time.Second))
	}
	keep := sessiontest.Key()
	s.Commit(ctx, keep, []byte("keep"), now.Add(10*time.Hour))
	now = now.Add(2 * time.Second) // the first 50 expire
	for i := 0; i < 1000; i++ {
		if err := s.Commit(ctx, sessiontest.Key(), []byte("flood"), now.Add(time.Hour+time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if s.Len() > 100 {
			t.Fatalf("store grew to %d records, bound is 100", s.Len())
		}
	}
	if _, ok, _ := s.Find(ctx, keep); !ok {
		t.Error("evicted the record with the latest expiry; eviction must pick the soonest-expiring record of its sample")
	}
}

func TestPurge(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newStore(t, memstore.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	s.Commit(ctx, "a", []byte("x"), now.Add(time.Second))
	s.Commit(ctx, "b", []byte("x"), now.Add(time.Hour))
	now = now.Add(time.Minute)
	if n, err := s.Purge(ctx); n != 1 || err != nil {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
}

func TestUpdate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := newStore(t, memstore.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	if found, err := s.Update(ctx, "absent", []byte("x"), now.Add(time.Hour)); found || err != nil {
		t.Fatalf("Update(absent) = %v, %v; want not found", found, err)
	}
	if _, ok, _ := s.Find(ctx, "absent"); ok {
		t.Fatal("Update created a record")
	}
	s.Commit(ctx, "k", []byte("old"), now.Add(time.Minute))
	if found, err := s.Update(ctx, "k", []byte("new"), now.Add(time.Hour)); !found || err != nil {
		t.Fatalf("Update(live) = %v, %v", found, err)
	}
	if d, _, _ := s.Find(ctx, "k"); string(d) != "new" {
		t.Fatalf("Find after Update = %q", d)
	}
	now = now.Add(2 * time.Hour)
	if found, _ := s.Update(ctx, "k", []byte("late"), now.Add(time.Hour)); found {
		t.Fatal("Update revived an expired record")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Update(cctx, "k", nil, now.Add(time.Hour)); err == nil {
		t.Fatal("Update ignored a cancelled context")
	}
}
