// Package redisstore is a ratelimit.Store in Redis: every gateway or
// application instance using the same Redis shares the limits.
//
// Each Take is one call of a Lua script (EVALSHA, one round trip), which
// applies GCRA atomically on the server with the server's clock (TIME), so
// that neither concurrent requests nor the clocks of several instances can
// let more through than the limit. A key holds one integer (the
// theoretical arrival time, in microseconds) and expires once the
// client's allowance has fully recovered. It needs Redis 5 or later
// (scripts replicated by their effects, so reading TIME in a script that
// writes is allowed); with Redis Cluster, each call names one key.
//
// Deadlines: give the client ContextTimeoutEnabled (redis.Options), so
// that the per-call deadline of ratelimit.Rule.Timeout reaches the
// connection; without it go-redis waits for its ReadTimeout (3s by
// default) on a frozen server.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// DefaultPrefix is the key prefix used when Config.Prefix is empty.
const DefaultPrefix = "bulwark:ratelimit:"

const maxPrefix = 256

// Config configures a Store. The zero value is valid.
type Config struct {
	// Prefix is prepended to every key, to keep rate limits apart from
	// other data in the same Redis. At most 256 bytes. Zero value:
	// DefaultPrefix ("bulwark:ratelimit:").
	Prefix string `toml:"prefix"`
}

// Store is a ratelimit.Store backed by Redis. It is safe for concurrent
// use.
type Store struct {
	client redis.UniversalClient
	prefix string
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store using client, which stays the caller's to close.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("redisstore: nil client")
	}
	if len(cfg.Prefix) > maxPrefix {
		return nil, fmt.Errorf("redisstore: prefix of %d bytes is longer than %d", len(cfg.Prefix), maxPrefix)
	}
	p := cfg.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	return &Store{client: client, prefix: p}, nil
}

// gcra is the algorithm of ratelimit's stores in Lua, in microseconds.
// KEYS[1] is the key; ARGV: interval (µs), burst, cost. It returns
// {allowed (0/1), remaining, retry after (µs)}. The TAT is stored as a
// decimal integer: a Lua number holds microsecond timestamps exactly, but
// tostring would round them to 14 digits. A value that is not a number
// (something else wrote the key) is treated as absent, and overwritten.
var gcra = redis.NewScript(`
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local ok, v = pcall(redis.call, "GET", KEYS[1])
local tat = ok and v and tonumber(v) or now
if tat < now then tat = now end
local limit = interval * burst
local n = tat + interval * cost
if cost > 0 and n - now > limit then
	local rem = math.floor((limit - (tat - now)) / interval)
	if rem < 0 then rem = 0 end
	return {0, rem, n - now - limit}
end
if n <= now then
	redis.call("DEL", KEYS[1])
	return {1, burst, 0}
end
redis.call("SET", KEYS[1], string.format("%.0f", n), "PX", math.ceil((n - now) / 1000))
return {1, math.floor((limit - (n - now)) / interval), 0}
`)

// Take applies the limit to key with one script call (see
// ratelimit.Store).
func (s *Store) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	iv := l.Interval.Microseconds()
	if iv < 1 || l.Burst < 1 {
		return ratelimit.Result{}, fmt.Errorf("redisstore: invalid limit %+v", l)
	}
	vals, err := gcra.Run(ctx, s.client, []string{s.prefix + key}, iv, l.Burst, cost).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redisstore: take: %w", err)
	}
	if len(vals) != 3 {
		return ratelimit.Result{}, fmt.Errorf("redisstore: take: unexpected reply of %d values", len(vals))
	}
	return ratelimit.Result{
		Allowed:    vals[0] == 1,
		Remaining:  int(vals[1]),
		RetryAfter: time.Duration(vals[2]) * time.Microsecond,
	}, nil
}
