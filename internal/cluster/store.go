package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned by Get for a key the store does not hold.
var ErrNotFound = errors.New("cluster: key not found")

// ErrInvalid wraps every configuration error of Open.
var ErrInvalid = errors.New("cluster: invalid configuration")

// Store is the shared state of a fleet of gateways. Implementations are
// safe for concurrent use; every method honours ctx (a cancelled or expired
// ctx yields an error wrapping ctx.Err() or a network timeout, and no partial
// write: each method is one atomic store operation).
type Store interface {
	// Get returns the value under key and when it was last written, or
	// ErrNotFound.
	Get(ctx context.Context, key string) (value []byte, modified time.Time, err error)
	// Put stores value under key, replacing any previous value.
	Put(ctx context.Context, key string, value []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// List returns every key that starts with prefix, in no set order.
	List(ctx context.Context, prefix string) ([]string, error)
	// TryLock takes the lease name for owner for ttl, or extends it when
	// owner already holds it. It reports false, without waiting, when
	// another owner holds an unexpired lease.
	TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Unlock ends owner's lease on name; a lease owner does not hold (it
	// expired and another took it) is left alone.
	Unlock(ctx context.Context, name, owner string) error
	// Close releases the connections.
	Close() error
}

// Options configures Open.
type Options struct {
	// URL names the store: "redis://[user:password@]host:port[/db]",
	// "rediss://..." (TLS), or "postgres://..." / "postgresql://..." (any
	// URL pgx accepts, sslmode included). Required.
	URL string
	// Timeout bounds every call, connecting included. Zero means
	// DefaultTimeout.
	Timeout time.Duration
	// Prefix keeps the fleet's data apart from other data in the same
	// store: Redis keys start with Prefix + ":", PostgreSQL tables with
	// Prefix + "_". Lower-case letters, digits and "_", starting with a
	// letter, at most 40 bytes. Empty means DefaultPrefix.
	Prefix string
}

// Defaults.
const (
	DefaultTimeout = time.Second
	DefaultPrefix  = "bulwark"
	// MaxTimeout bounds Options.Timeout: a longer deadline stops being a
	// bound on how long a frozen store can hold a request.
	MaxTimeout = 30 * time.Second
)

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Validate reports the first problem in o.
func (o Options) Validate() error {
	if o.URL == "" {
		return fmt.Errorf("%w: no store URL", ErrInvalid)
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		// The URL may hold a password: never quote it.
		return fmt.Errorf("%w: store URL does not parse", ErrInvalid)
	}
	switch u.Scheme {
	case "redis", "rediss", "postgres", "postgresql":
	default:
		return fmt.Errorf("%w: store URL scheme %q is not redis, rediss, postgres or postgresql", ErrInvalid, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: store URL has no host", ErrInvalid)
	}
	if o.Timeout < 0 || o.Timeout > MaxTimeout {
		return fmt.Errorf("%w: timeout %v is outside 0..%v", ErrInvalid, o.Timeout, MaxTimeout)
	}
	if o.Prefix != "" && !prefixRE.MatchString(o.Prefix) {
		return fmt.Errorf("%w: prefix %q is not [a-z][a-z0-9_]* of at most 40 bytes", ErrInvalid, o.Prefix)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	return o
}

// Open connects to the store o names and checks that it answers (and, for
// PostgreSQL, creates the tables it needs), within o.Timeout. Every call on
// the returned Store is bounded by o.Timeout.
func Open(ctx context.Context, o Options) (Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	u, _ := url.Parse(o.URL)
	var (
		s   Store
		err error
	)
	switch u.Scheme {
	case "redis", "rediss":
		s, err = openRedis(ctx, o)
	default:
		s, err = openPostgres(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	return WithTimeout(s, o.Timeout), nil
}

// WithTimeout returns s with every call bounded by d (on top of the
// caller's context).
func WithTimeout(s Store, d time.Duration) Store {
	if d <= 0 {
		return s
	}
	return &deadlineStore{s: s, d: d}
}

type deadlineStore struct {
	s Store
	d time.Duration
}

func (b *deadlineStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.Get(ctx, key)
}

func (b *deadlineStore) Put(ctx context.Context, key string, value []byte) error {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.Put(ctx, key, value)
}

func (b *deadlineStore) Delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.Delete(ctx, key)
}

func (b *deadlineStore) List(ctx context.Context, prefix string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.List(ctx, prefix)
}

func (b *deadlineStore) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.TryLock(ctx, name, owner, ttl)
}

func (b *deadlineStore) Unlock(ctx context.Context, name, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, b.d)
	defer cancel()
	return b.s.Unlock(ctx, name, owner)
}

func (b *deadlineStore) Close() error { return b.s.Close() }

// NewOwner returns a random lease owner name, one per gateway process.
func NewOwner() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RedisClient returns the go-redis client under a Store that Open made
// for a Redis URL (nil for any other Store), so that state of other kinds
// (rate-limit counters) can share the connection pool. The client has
// ContextTimeoutEnabled, and the timeout as its read and write timeouts.
func RedisClient(s Store) *redis.Client {
	if d, ok := s.(*deadlineStore); ok {
		s = d.s
	}
	if r, ok := s.(*redisStore); ok {
		return r.c
	}
	return nil
}

// PostgresPool returns the pgx pool under a Store that Open made for a
// PostgreSQL URL (nil for any other Store).
func PostgresPool(s Store) *pgxpool.Pool {
	if d, ok := s.(*deadlineStore); ok {
		s = d.s
	}
	if p, ok := s.(*pgStore); ok {
		return p.pool
	}
	return nil
}

// Timeout returns the per-call bound of a Store that Open made (zero for
// any other Store).
func Timeout(s Store) time.Duration {
	if d, ok := s.(*deadlineStore); ok {
		return d.d
	}
	return 0
}
