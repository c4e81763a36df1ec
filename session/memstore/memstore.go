package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/session"
)

// DefaultMaxEntries is the default bound on stored sessions.
const DefaultMaxEntries = 100_000

// DefaultSweepInterval is how often expired records are swept by default.
const DefaultSweepInterval = time.Minute

// Config configures a Store. The zero value is ready to use.
type Config struct {
	// MaxEntries bounds the number of records. Zero: DefaultMaxEntries
	// (100 000); negative is invalid.
	MaxEntries int `toml:"max_entries"`

	// SweepInterval is the minimum time between two sweeps of expired
	// records, done during a Commit. Zero: DefaultSweepInterval (one
	// minute); negative is invalid.
	SweepInterval time.Duration `toml:"sweep_interval"`

	// Now is the clock. Nil: time.Now.
	Now func() time.Time `toml:"-"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.MaxEntries < 0 {
		return fmt.Errorf("memstore: negative MaxEntries %d", c.MaxEntries)
	}
	if c.SweepInterval < 0 {
		return fmt.Errorf("memstore: negative SweepInterval %v", c.SweepInterval)
	}
	return nil
}

type entry struct {
	data   []byte
	expiry time.Time
}

// Store is an in-memory session.Store and session.Purger. It is safe for
// concurrent use.
type Store struct {
	mu        sync.Mutex
	m         map[string]entry
	max       int
	interval  time.Duration
	now       func() time.Time
	lastSweep time.Time
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Purger  = (*Store)(nil)
	_ session.Updater = (*Store)(nil)
)

// New returns an empty Store.
func New(c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Store{m: make(map[string]entry), max: c.MaxEntries, interval: c.SweepInterval, now: c.Now}
	if s.max == 0 {
		s.max = DefaultMaxEntries
	}
	if s.interval == 0 {
		s.interval = DefaultSweepInterval
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.lastSweep = s.now()
	return s, nil
}

// Find returns a copy of the record under key, unless absent or expired.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("memstore: %w", err)
	}
	now := s.now()
	s.mu.Lock()
	e, ok := s.m[key]
	s.mu.Unlock()
	if !ok || !now.Before(e.expiry) {
		return nil, false, nil
	}
	// e.data is never modified after Commit stored it, so copying outside
	// the lock is safe.
	return append(make([]byte, 0, len(e.data)), e.data...), true, nil
}

// Commit stores a copy of data under key until expiry.
func (s *Store) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	now := s.now()
	d := append(make([]byte, 0, len(data)), data...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(expiry) {
		delete(s.m, key)
		return nil
	}
	if now.Sub(s.lastSweep) >= s.interval {
		s.sweepLocked(now)
	}
	if _, exists := s.m[key]; !exists && len(s.m) >= s.max {
		s.sweepLocked(now)
		if len(s.m) >= s.max {
			s.evictLocked()
		}
	}
	s.m[key] = entry{d, expiry}
	return nil
}

// Update replaces the record under key with a copy of data, only if a
// live record is there; it reports whether one was.
func (s *Store) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memstore: %w", err)
	}
	now := s.now()
	d := append(make([]byte, 0, len(data)), data...)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok || !now.Before(e.expiry) {
		return false, nil
	}
	if !now.Before(expiry) {
		delete(s.m, key)
		return true, nil
	}
	s.m[key] = entry{d, expiry}
	return true, nil
}

// Delete removes the record under key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Purge removes every expired record and returns how many it removed.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sweepLocked(s.now()), nil
}

// Len returns the number of records held, expired or not.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func (s *Store) sweepLocked(now time.Time) int64 {
	var n int64
	for k, e := range s.m {
		if !now.Before(e.expiry) {
			delete(s.m, k)
			n++
		}
	}
	s.lastSweep = now
	return n
}

// evictLocked removes the record closest to expiry among a sample of the
// map (Go randomises iteration order), making room in O(1).
func (s *Store) evictLocked() {
	const sample = 16
	var victim string
	var soonest time.Time
	i := 0
	for k, e := range s.m {
		if i == 0 || e.expiry.Before(soonest) {
			victim, soonest = k, e.expiry
		}
		if i++; i == sample {
			break
		}
	}
	delete(s.m, victim)
}
