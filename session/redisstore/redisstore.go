package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/session"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "bulwark:session:"

// maxPrefix bounds Config.Prefix: it is sent with every command.
const maxPrefix = 256

// Config configures a Store. The zero value is valid.
type Config struct {
	// Prefix is prepended to every key, to keep sessions apart from other
	// data in the same Redis (and to let an ACL confine the application's
	// user to it). At most 256 bytes. Zero value: DefaultPrefix
	// ("bulwark:session:").
	Prefix string `toml:"prefix"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if len(c.Prefix) > maxPrefix {
		return fmt.Errorf("redisstore: prefix of %d bytes is longer than %d", len(c.Prefix), maxPrefix)
	}
	return nil
}

// Store is a session.Store backed by Redis. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Updater = (*Store)(nil)
)

// ErrNoContextTimeout is returned by New for a client built without
// ContextTimeoutEnabled.
var ErrNoContextTimeout = errors.New("redisstore: client ignores context deadlines (set ContextTimeoutEnabled in its options)")

// New returns a Store using client, which stays the caller's to close.
//
// The client must be built with ContextTimeoutEnabled: without it go-redis
// ignores context deadlines once a command is sent, and a frozen Redis
// would hold every request for the client's ReadTimeout times its retries
// instead of the manager's StoreTimeout. New refuses such a client
// (ErrNoContextTimeout) rather than let an outage hang the site.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	var ctxTimeout bool
	switch c := client.(type) {
	case *redis.Client:
		ctxTimeout = c.Options().ContextTimeoutEnabled
	case *redis.ClusterClient:
		ctxTimeout = c.Options().ContextTimeoutEnabled
	case *redis.Ring:
		ctxTimeout = c.Options().ContextTimeoutEnabled
	default:
		ctxTimeout = true // another implementation: its own business
	}
	if !ctxTimeout {
		return nil, ErrNoContextTimeout
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	prefix := cfg.Prefix
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{client: client, prefix: prefix}, nil
}

// Find returns the data stored under key with one GET.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("redisstore: find: %w", err)
	}
	// Bytes converts the reply to a new slice: the caller owns it.
	data, err := s.client.Get(ctx, s.prefix+key).Bytes()
	switch {
	case err == nil:
		return data, true, nil
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case redis.HasErrorPrefix(err, "WRONGTYPE"):
		// Something other than a string sits at the key: not a record we
		// wrote, so not a session. Commit's SET replaces it.
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("redisstore: find: %w", err)
}

// Commit stores data under key with one SET ... PX, or deletes the key when
// expiry is less than a millisecond away.
func (s *Store) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: commit: %w", err)
	}
	// Rounded down: a record may die up to a millisecond early, never late.
	ttl := time.Until(expiry).Truncate(time.Millisecond)
	var err error
	if ttl <= 0 {
		// Redis refuses a non-positive PX, and a record with a past
		// expiry must not stay live under an older TTL.
		err = s.client.Del(ctx, s.prefix+key).Err()
	} else {
		if data == nil {
			data = []byte{}
		}
		err = s.client.Set(ctx, s.prefix+key, data, ttl).Err()
	}
	if err != nil {
		return fmt.Errorf("redisstore: commit: %w", err)
	}
	return nil
}

// Update replaces the record for key only if it exists, atomically, with
// one SET ... PX ... XX (Redis has already dropped an expired key, so an
// expired record counts as absent). With an expiry less than a
// millisecond away it deletes the key instead, reporting whether there
// was one. found == false means nothing was written: the session was
// deleted meanwhile (a logout in a concurrent request).
func (s *Store) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("redisstore: update: %w", err)
	}
	ttl := time.Until(expiry).Truncate(time.Millisecond)
	if ttl <= 0 {
		n, err := s.client.Del(ctx, s.prefix+key).Result()
		if err != nil {
			return false, fmt.Errorf("redisstore: update: %w", err)
		}
		return n > 0, nil
	}
	if data == nil {
		data = []byte{}
	}
	// SetXX reports a nil reply (key absent, nothing set) as false.
	set, err := s.client.SetXX(ctx, s.prefix+key, data, ttl).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("redisstore: update: %w", err)
	}
	return set, nil
}

// Delete removes the record for key, if any, with one DEL.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	if err := s.client.Del(ctx, s.prefix+key).Err(); err != nil {
		return fmt.Errorf("redisstore: delete: %w", err)
	}
	return nil
}
