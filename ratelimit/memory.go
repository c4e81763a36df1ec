package ratelimit

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a MemoryStore keeps when
// MemoryConfig.MaxKeys is zero.
const DefaultMaxKeys = 1 << 20

const memShards = 64

// MemoryConfig configures a MemoryStore. The zero value is valid.
type MemoryConfig struct {
	// MaxKeys bounds the number of keys (clients × rules) kept, so that
	// clients arriving from ever new addresses cannot exhaust memory.
	// Keys whose allowance has fully recovered are dropped first; when
	// all are live, an arbitrary one is evicted (that client's count
	// restarts: a lapse for one key rather than failing open for all).
	// Zero means DefaultMaxKeys (about 100 MiB at most).
	MaxKeys int
}

// MemoryStore is a Store in this process's memory: state is not shared
// with other processes and is lost on exit. It is safe for concurrent use,
// takes one short lock per Take and does not allocate once a key exists.
type MemoryStore struct {
	seed   maphash.Seed
	base   time.Time // monotonic clock origin
	max    int       // per shard
	shards [memShards]memShard
}

type memShard struct {
	mu      sync.Mutex
	m       map[string]*int64 // key → TAT, in nanoseconds since base
	inserts int
	_       [40]byte // keep shards on separate cache lines
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(c MemoryConfig) *MemoryStore {
	n := c.MaxKeys
	if n <= 0 {
		n = DefaultMaxKeys
	}
	s := &MemoryStore{seed: maphash.MakeSeed(), base: time.Now(), max: max(n/memShards, 1)}
	for i := range s.shards {
		s.shards[i].m = make(map[string]*int64)
	}
	return s
}

// Take applies the limit to key (see Store). It never fails and never
// waits on anything but its lock, so ctx is not consulted.
func (s *MemoryStore) Take(_ context.Context, key string, l Limit, cost int) (Result, error) {
	// The monotonic clock: a wall-clock step cannot free or freeze clients.
	now := int64(time.Since(s.base))
	sh := &s.shards[maphash.String(s.seed, key)%memShards]
	sh.mu.Lock()
	// The map holds pointers so that an update writes no key: the
	// caller's key is only read (it may be reused once Take returns) and
	// does not escape.
	var tat int64
	p, found := sh.m[key]
	if found {
		tat = *p
	}
	n, ok, rem, retry := gcra(tat, now, int64(l.Interval), int64(l.Burst), int64(cost))
	switch {
	case !ok:
	case n <= now:
		// Fully recovered: nothing to remember.
		if found {
			delete(sh.m, key)
		}
	case found:
		*p = n
	default:
		sh.insert(strings.Clone(key), n, now, s.max)
	}
	sh.mu.Unlock()
	return Result{Allowed: ok, Remaining: int(rem), RetryAfter: time.Duration(retry)}, nil
}

// insert adds a key (already copied: the caller's string may be reused).
// Recovered keys are swept every sweepEvery inserts, so the sweep costs a
// few entries per insert; when the shard is still full, one arbitrary key
// is evicted (map iteration starts at a random place) without a sweep, so
// that clients arriving from ever new addresses cannot make each insert
// walk the whole shard.
func (sh *memShard) insert(key string, tat, now int64, limit int) {
	sh.inserts++
	if sh.inserts >= sweepEvery {
		sh.inserts = 0
		for k, v := range sh.m {
			if *v <= now {
				delete(sh.m, k)
			}
		}
	}
	for len(sh.m) >= limit {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[key] = &tat
}

const sweepEvery = 4096

// Len returns the number of keys held (for tests and metrics).
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
