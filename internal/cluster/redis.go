package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisStore keeps values in hashes ({v: value, m: unix nanoseconds}) under
// "<prefix>:kv:<key>" and leases as plain keys with a TTL under
// "<prefix>:lock:<name>".
type redisStore struct {
	c      *redis.Client
	kv     string
	lock   string
	closer func() error
}

// NewRedis returns a Store on client (which stays the caller's to close)
// with keys under prefix (DefaultPrefix when empty). The client should be
// built with ContextTimeoutEnabled, or context deadlines will not bound its
// reads and writes.
func NewRedis(client *redis.Client, prefix string) Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &redisStore{c: client, kv: prefix + ":kv:", lock: prefix + ":lock:", closer: func() error { return nil }}
}

func openRedis(ctx context.Context, o Options) (Store, error) {
	ro, err := redis.ParseURL(o.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: redis URL: %v", ErrInvalid, redactErr(err, o.URL))
	}
	// Without ContextTimeoutEnabled go-redis ignores the context's deadline
	// once a command is on the wire, and a frozen server would hold the
	// caller for ReadTimeout (3s) times the retries.
	ro.ContextTimeoutEnabled = true
	ro.DialTimeout = o.Timeout
	ro.ReadTimeout = o.Timeout
	ro.WriteTimeout = o.Timeout
	ro.MaxRetries = 1
	c := redis.NewClient(ro)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: redis: %w", err)
	}
	s := NewRedis(c, o.Prefix).(*redisStore)
	s.closer = c.Close
	return s, nil
}

// redactErr returns err's text with the URL (which may hold a password)
// cut out.
func redactErr(err error, url string) string {
	return strings.ReplaceAll(err.Error(), url, "<store URL>")
}

func (s *redisStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	vals, err := s.c.HMGet(ctx, s.kv+key, "v", "m").Result()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cluster: redis: %w", err)
	}
	v, ok := vals[0].(string)
	if !ok {
		return nil, time.Time{}, ErrNotFound
	}
	var mod time.Time
	if m, ok := vals[1].(string); ok {
		if n, err := strconv.ParseInt(m, 10, 64); err == nil {
			mod = time.Unix(0, n)
		}
	}
	return []byte(v), mod, nil
}

func (s *redisStore) Put(ctx context.Context, key string, value []byte) error {
	// One HSET writes both fields atomically.
	err := s.c.HSet(ctx, s.kv+key, "v", value, "m", strconv.FormatInt(time.Now().UnixNano(), 10)).Err()
	if err != nil {
		return fmt.Errorf("cluster: redis: %w", err)
	}
	return nil
}

func (s *redisStore) Delete(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.kv+key).Err(); err != nil {
		return fmt.Errorf("cluster: redis: %w", err)
	}
	return nil
}

func (s *redisStore) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	iter := s.c.Scan(ctx, 0, globEscape(s.kv+prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, strings.TrimPrefix(iter.Val(), s.kv))
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("cluster: redis: %w", err)
	}
	return out, nil
}

// globEscape quotes the characters SCAN's MATCH pattern gives a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// tryLockScript takes a free lease or extends the caller's own, atomically.
var tryLockScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`)

// unlockScript deletes a lease only for its owner.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

func (s *redisStore) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ms := max(ttl.Milliseconds(), 1)
	n, err := tryLockScript.Run(ctx, s.c, []string{s.lock + name}, owner, ms).Int()
	if err != nil {
		return false, fmt.Errorf("cluster: redis: %w", err)
	}
	return n == 1, nil
}

func (s *redisStore) Unlock(ctx context.Context, name, owner string) error {
	err := unlockScript.Run(ctx, s.c, []string{s.lock + name}, owner).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cluster: redis: %w", err)
	}
	return nil
}

func (s *redisStore) Close() error { return s.closer() }
