package ratelimit

import (
	"context"
	"time"
)

// Limit is one rate limit as a store applies it, in the terms of the
// generic cell rate algorithm (GCRA): one unit is earned every Interval, and
// up to Burst units may be taken at once. A rate of N per period is
// Interval = period/N; Burst = N lets a client spend a whole period's
// allowance at once and then holds it to the rate.
type Limit struct {
	// Interval is the emission interval: the time it takes to earn back
	// one unit. It is at least one microsecond (the resolution of the
	// remote stores).
	Interval time.Duration
	// Burst is the number of units that may be taken at once, at least 1.
	Burst int
}

// Result is a store's decision on one Take.
type Result struct {
	// Allowed reports whether the units were taken. A refund (negative
	// cost) is always allowed.
	Allowed bool
	// Remaining is the number of units that could still be taken at once
	// after this call (0 when refused).
	Remaining int
	// RetryAfter is, for a refused Take, how long until the same Take
	// would be allowed (more than zero); zero for an allowed one.
	RetryAfter time.Duration
}

// Store keeps the state of rate limits: one theoretical arrival time
// (TAT) per key. Implementations: NewMemoryStore (one process), and the
// packages ratelimit/redisstore and ratelimit/pgstore (shared by every
// gateway or application instance that uses the same server). Package
// ratelimit/ratelimittest is the conformance suite every Store must pass.
//
// The contract:
//   - Take is one atomic step (one lock, one Lua script, one SQL
//     statement; one round trip for a remote store): concurrent Takes on
//     the same key, from any number of processes, never allow more than
//     the limit.
//   - cost > 0 takes cost units, all or nothing: refused when fewer than
//     cost units are available, and a refused Take changes nothing.
//     cost < 0 gives -cost units back (a refund, always allowed), never
//     raising the allowance above Burst. cost 0 is not used.
//   - Keys are opaque byte strings compared exactly; any byte may occur.
//     key is only valid during the call (the caller may reuse its
//     memory): a store that keeps it must copy it.
//   - Time is the store's own clock (a remote store uses the server's, so
//     that the clocks of several gateways do not matter), and state that
//     has fully recovered may be forgotten.
//   - An error means the decision could not be made (the store is down, or
//     ctx ended): the caller applies its outage policy. A store never
//     reports a refusal as an error, nor an error as a refusal.
type Store interface {
	Take(ctx context.Context, key string, l Limit, cost int) (Result, error)
}

// gcra is the algorithm every store applies, in the store's own time unit:
// tat is the stored theoretical arrival time (zero or in the past when the
// key is fresh), now the current time, interval and burst the limit. It
// returns the TAT to store (unchanged when refused) and the decision, with
// RetryAfter and Remaining in the same unit.
func gcra(tat, now, interval, burst, cost int64) (newTAT int64, ok bool, remaining, retry int64) {
	if tat < now {
		tat = now
	}
	limit := interval * burst
	n := tat + interval*cost
	if cost > 0 && n-now > limit {
		rem := (limit - (tat - now)) / interval
		return tat, false, max(rem, 0), n - now - limit
	}
	if n < now {
		n = now
	}
	return n, true, (limit - (n - now)) / interval, 0
}
