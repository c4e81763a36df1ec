// Package ratelimittest is the conformance suite for ratelimit.Store
// implementations: every store of this module (memory, Redis, PostgreSQL)
// runs it, and a third-party store should too.
//
//	func TestConformance(t *testing.T) {
//		ratelimittest.Run(t, func(t *testing.T) ratelimit.Store {
//			return newStoreForTest(t) // fresh, isolated state
//		})
//	}
//
// The suite runs in real time (remote stores keep their own clock), with
// limits chosen so that a slow machine cannot turn a refusal into an
// allowance: denials are asserted under rates of one per hour, recovery
// only after waiting at least as long as the store said to.
package ratelimittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// Slow is a limit whose allowance does not recover during a test: one unit
// an hour, burst units at once.
func Slow(burst int) ratelimit.Limit {
	return ratelimit.Limit{Interval: time.Hour, Burst: burst}
}

// Key returns a fresh random key.
func Key() string {
	var b [12]byte
	rand.Read(b[:])
	return "test:" + hex.EncodeToString(b[:])
}

// HostileKeys returns keys a store must treat as opaque bytes: Redis and
// SQL metacharacters, glob patterns, protocol line breaks, NUL and
// invalid UTF-8, and a long key.
func HostileKeys() []string {
	return []string{
		"", "'", "' OR '1'='1", "'; DROP TABLE ratelimit; --", "*", "?", "[a-z]*", "\\", "%", "_",
		"\r\nFLUSHALL\r\n", "*1\r\n$8\r\nFLUSHALL\r\n", "a\x00b", "\xff\xfe", "key ", " key", "KEY", "ключ",
		strings.Repeat("k", 1024),
	}
}

// Run runs the suite. newStore returns a store with no state (or state
// under keys of its own); it is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) ratelimit.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s ratelimit.Store)
	}{
		{"BurstThenRefuse", testBurst},
		{"RefusalChangesNothing", testRefusalChangesNothing},
		{"RetryAfter", testRetryAfter},
		{"Recovery", testRecovery},
		{"KeysAreIndependent", testKeysIndependent},
		{"HostileKeys", testHostileKeys},
		{"KeyNotRetained", testKeyNotRetained},
		{"Cost", testCost},
		{"CostAboveBurst", testCostAboveBurst},
		{"Refund", testRefund},
		{"RefundCappedAtBurst", testRefundCapped},
		{"RefundUnknownKey", testRefundUnknown},
		{"Concurrent", testConcurrent},
		{"ConcurrentRefunds", testConcurrentRefunds},
		{"LargeLimits", testLargeLimits},
		{"FastRate", testFastRate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
}

// MustTake takes cost units and fails the test on error.
func MustTake(t testing.TB, s ratelimit.Store, key string, l ratelimit.Limit, cost int) ratelimit.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Take(ctx, key, l, cost)
	if err != nil {
		t.Fatalf("Take(%q, %+v, %d): %v", key, l, cost, err)
	}
	return res
}

// MustAllow takes one unit and fails unless it is allowed with remaining
// units left.
func MustAllow(t testing.TB, s ratelimit.Store, key string, l ratelimit.Limit, remaining int) {
	t.Helper()
	res := MustTake(t, s, key, l, 1)
	if !res.Allowed || res.Remaining != remaining || res.RetryAfter != 0 {
		t.Fatalf("Take(%q) = %+v; want allowed with %d remaining", key, res, remaining)
	}
}

// MustRefuse takes one unit and fails unless it is refused.
func MustRefuse(t testing.TB, s ratelimit.Store, key string, l ratelimit.Limit) ratelimit.Result {
	t.Helper()
	res := MustTake(t, s, key, l, 1)
	if res.Allowed || res.RetryAfter <= 0 || res.Remaining != 0 {
		t.Fatalf("Take(%q) = %+v; want refused, RetryAfter > 0, 0 remaining", key, res)
	}
	return res
}

func testBurst(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(3)
	MustAllow(t, s, k, l, 2)
	MustAllow(t, s, k, l, 1)
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
	MustRefuse(t, s, k, l)
}

// A refused Take must not push the client's recovery further out: a
// client hammering a limit recovers as fast as one that waits.
func testRefusalChangesNothing(t *testing.T, s ratelimit.Store) {
	k := Key()
	l := ratelimit.Limit{Interval: 400 * time.Millisecond, Burst: 1}
	MustTake(t, s, k, l, 1)
	start := time.Now()
	for range 5 {
		MustTake(t, s, k, l, 1)
	}
	if time.Since(start) > 300*time.Millisecond {
		t.Skip("machine too slow for this test")
	}
	time.Sleep(450 * time.Millisecond)
	if res := MustTake(t, s, k, l, 1); !res.Allowed {
		t.Fatalf("after the interval, Take = %+v; refused Takes counted", res)
	}
}

func testRetryAfter(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(2)
	MustTake(t, s, k, l, 1)
	MustTake(t, s, k, l, 1)
	res := MustRefuse(t, s, k, l)
	// The next unit is earned one interval after the first Take.
	if res.RetryAfter > time.Hour || res.RetryAfter < time.Hour-time.Minute {
		t.Fatalf("RetryAfter = %s; want about 1h", res.RetryAfter)
	}
	// Asking for more than one unit means waiting for more.
	res = MustTake(t, s, k, l, 2)
	if res.Allowed || res.RetryAfter < 2*time.Hour-time.Minute || res.RetryAfter > 2*time.Hour {
		t.Fatalf("Take(2) = %+v; want refused with RetryAfter about 2h", res)
	}
}

func testRecovery(t *testing.T, s ratelimit.Store) {
	k := Key()
	l := ratelimit.Limit{Interval: 200 * time.Millisecond, Burst: 2}
	MustTake(t, s, k, l, 1)
	MustTake(t, s, k, l, 1)
	res := MustTake(t, s, k, l, 1)
	if res.Allowed {
		// Only possible if 200ms passed since the first Take: a stall.
		t.Skip("machine too slow for this test")
	}
	if res.RetryAfter > l.Interval {
		t.Fatalf("RetryAfter = %s; want at most one interval (%s)", res.RetryAfter, l.Interval)
	}
	time.Sleep(res.RetryAfter + 20*time.Millisecond)
	if res := MustTake(t, s, k, l, 1); !res.Allowed {
		t.Fatalf("after RetryAfter, Take = %+v; want allowed", res)
	}
	// Fully recovered, and no more, after a long idleness: the
	// allowance never exceeds the burst.
	time.Sleep(4*l.Interval + 50*time.Millisecond)
	if res := MustTake(t, s, k, l, 1); !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after full recovery, Take = %+v; want allowed with 1 remaining", res)
	}
}

func testKeysIndependent(t *testing.T, s ratelimit.Store) {
	a, b, l := Key(), Key(), Slow(1)
	MustAllow(t, s, a, l, 0)
	MustRefuse(t, s, a, l)
	MustAllow(t, s, b, l, 0)
	// A key that extends another, or differs only in case, is another key.
	MustAllow(t, s, a+"x", l, 0)
	MustAllow(t, s, strings.ToUpper(a), l, 0)
	MustAllow(t, s, a[:len(a)-1], l, 0)
	// Trailing bytes a careless store might trim count too.
	for _, suffix := range []string{" ", "\t", "\n", "\x00", "\r\n"} {
		MustAllow(t, s, a+suffix, l, 0)
	}
}

func testHostileKeys(t *testing.T, s ratelimit.Store) {
	prefix, l := Key(), Slow(2)
	for _, hk := range HostileKeys() {
		MustAllow(t, s, prefix+hk, l, 1)
	}
	for _, hk := range HostileKeys() {
		MustAllow(t, s, prefix+hk, l, 0)
		MustRefuse(t, s, prefix+hk, l)
	}
	MustAllow(t, s, prefix+"innocent", l, 1)
}

// Callers build keys in reused buffers (ratelimit.Limiter does): a store
// that keeps the caller's string would see its key change under it.
func testKeyNotRetained(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(3)
	buf := []byte(k)
	MustAllow(t, s, unsafe.String(unsafe.SliceData(buf), len(buf)), l, 2)
	copy(buf, strings.Repeat("z", len(buf)))
	MustAllow(t, s, unsafe.String(unsafe.SliceData(buf), len(buf)), l, 2)
	MustAllow(t, s, k, l, 1)
	MustAllow(t, s, strings.Repeat("z", len(k)), l, 1)
}

func testCost(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(5)
	if res := MustTake(t, s, k, l, 3); !res.Allowed || res.Remaining != 2 {
		t.Fatalf("Take(3) = %+v; want allowed, 2 remaining", res)
	}
	// All or nothing: 3 more are refused and take nothing.
	if res := MustTake(t, s, k, l, 3); res.Allowed {
		t.Fatalf("Take(3) with 2 left = %+v; want refused", res)
	}
	MustAllow(t, s, k, l, 1)
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
}

func testCostAboveBurst(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(2)
	if res := MustTake(t, s, k, l, 3); res.Allowed {
		t.Fatalf("Take(3) with a burst of 2 = %+v; want refused", res)
	}
	MustAllow(t, s, k, l, 1)
}

func testRefund(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(2)
	MustAllow(t, s, k, l, 1)
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
	if res := MustTake(t, s, k, l, -1); !res.Allowed {
		t.Fatalf("refund = %+v; a refund is always allowed", res)
	}
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
}

// Refunds never raise the allowance above the burst: a client cannot bank
// refunds (failed-login mode refunds every successful sign-in).
func testRefundCapped(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(2)
	MustAllow(t, s, k, l, 1)
	for range 5 {
		if res := MustTake(t, s, k, l, -1); !res.Allowed {
			t.Fatalf("refund = %+v; want allowed", res)
		}
	}
	MustAllow(t, s, k, l, 1)
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
}

func testRefundUnknown(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(1)
	if res := MustTake(t, s, k, l, -1); !res.Allowed {
		t.Fatalf("refund on a new key = %+v; want allowed", res)
	}
	MustAllow(t, s, k, l, 0)
	MustRefuse(t, s, k, l)
}

// Takes from many goroutines at once allow exactly the burst: a store that
// reads and then writes without atomicity lets more through.
func testConcurrent(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(20)
	var allowed, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			<-start
			res, err := s.Take(context.Background(), k, l, 1)
			switch {
			case err != nil:
				errs <- err
			case res.Allowed:
				allowed.Add(1)
			default:
				refused.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if allowed.Load() != 20 || refused.Load() != 44 {
		t.Fatalf("64 concurrent Takes, burst 20: %d allowed, %d refused; want 20 and 44", allowed.Load(), refused.Load())
	}
}

func testConcurrentRefunds(t *testing.T, s ratelimit.Store) {
	k, l := Key(), Slow(30)
	for range 30 {
		MustTake(t, s, k, l, 1)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := s.Take(context.Background(), k, l, -1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range 10 {
		MustAllow(t, s, k, l, 9-i)
	}
	MustRefuse(t, s, k, l)
}

// The extremes of what a Limiter passes: one an hour with a burst of a
// million, and a million a second.
func testLargeLimits(t *testing.T, s ratelimit.Store) {
	k := Key()
	l := ratelimit.Limit{Interval: time.Hour, Burst: ratelimit.MaxBurst}
	MustAllow(t, s, k, l, ratelimit.MaxBurst-1)
	if res := MustTake(t, s, k, l, ratelimit.MaxBurst-1); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("Take(MaxBurst-1) = %+v; want allowed, 0 remaining", res)
	}
	res := MustRefuse(t, s, k, l)
	if res.RetryAfter > time.Hour || res.RetryAfter < time.Hour-time.Minute {
		t.Fatalf("RetryAfter = %s; want about 1h", res.RetryAfter)
	}
}

func testFastRate(t *testing.T, s ratelimit.Store) {
	k := Key()
	l := ratelimit.Limit{Interval: time.Microsecond, Burst: 1000}
	for range 3 {
		if res := MustTake(t, s, k, l, 1); !res.Allowed {
			t.Fatalf("Take at a million a second = %+v; want allowed", res)
		}
	}
}

// ErrDown is what DownStore returns.
var ErrDown = errors.New("ratelimittest: store down")

// DownStore is a Store that always fails, for testing outage policies.
type DownStore struct{}

// Take fails with ErrDown.
func (DownStore) Take(context.Context, string, ratelimit.Limit, int) (ratelimit.Result, error) {
	return ratelimit.Result{}, ErrDown
}

// SlowStore is a Store that never answers before ctx ends, as a frozen
// server: for testing deadlines.
type SlowStore struct{}

// Take waits for ctx to end and returns its error.
func (SlowStore) Take(ctx context.Context, _ string, _ ratelimit.Limit, _ int) (ratelimit.Result, error) {
	<-ctx.Done()
	return ratelimit.Result{}, ctx.Err()
}
