package ratelimittest_test

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/ratelimittest"
)

// refStore is a straightforward correct store (GCRA in a map under a
// mutex); its flaws switch on the deliberate mistakes the suite must catch.
type refStore struct {
	mu    sync.Mutex
	m     map[string]time.Time
	flaws flaws
}

type flaws struct {
	racy          bool // reads, then writes under a second lock
	countsRefusal bool // a refused Take still advances the TAT
	retainsKey    bool // keeps the caller's string
	bankedRefund  bool // never moves a TAT up to now: refunds are banked
	trims         bool // trims spaces from keys
	ignoresCost   bool // takes 1 whatever the cost
	noClamp       bool // a stored TAT in the past is not moved up to now
	offByOne      bool // Remaining counts the unit just taken
	noRetryAfter  bool // refusals carry no RetryAfter
}

func (s *refStore) Take(_ context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	if s.flaws.trims {
		key = strings.TrimSpace(key)
	}
	if !s.flaws.retainsKey {
		key = strings.Clone(key)
	}
	if s.flaws.ignoresCost && cost > 0 {
		cost = 1
	}
	now := time.Now()
	s.mu.Lock()
	tat, ok := s.m[key]
	if s.flaws.racy {
		s.mu.Unlock()
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if !ok || (tat.Before(now) && !s.flaws.noClamp && !s.flaws.bankedRefund) {
		tat = now
	}
	limit := l.Interval * time.Duration(l.Burst)
	n := tat.Add(l.Interval * time.Duration(cost))
	var res ratelimit.Result
	switch {
	case cost > 0 && n.Sub(now) > limit:
		res = ratelimit.Result{RetryAfter: n.Sub(now) - limit}
		if s.flaws.noRetryAfter {
			res.RetryAfter = 0
		}
		if s.flaws.countsRefusal {
			s.put(key, n)
		}
	default:
		if n.Before(now) && !s.flaws.bankedRefund {
			n = now
		}
		s.put(key, n)
		res = ratelimit.Result{Allowed: true, Remaining: int((limit - n.Sub(now)) / l.Interval)}
		if s.flaws.offByOne {
			res.Remaining++
		}
	}
	if !s.flaws.racy {
		s.mu.Unlock()
	}
	return res, nil
}

func (s *refStore) put(key string, tat time.Time) {
	if s.flaws.racy {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	s.m[key] = tat
}

func TestReferenceStore(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Store { return &refStore{m: map[string]time.Time{}} })
}

func TestMemoryStore(t *testing.T) {
	ratelimittest.Run(t, func(*testing.T) ratelimit.Store { return ratelimit.NewMemoryStore(ratelimit.MemoryConfig{}) })
}

var broken = map[string]flaws{
	"racy":          {racy: true},
	"countsRefusal": {countsRefusal: true},
	"retainsKey":    {retainsKey: true},
	"bankedRefund":  {bankedRefund: true},
	"trims":         {trims: true},
	"ignoresCost":   {ignoresCost: true},
	"noClamp":       {noClamp: true},
	"offByOne":      {offByOne: true},
	"noRetryAfter":  {noRetryAfter: true},
}

// TestBrokenStore runs the suite on the broken store named by
// $RATELIMITTEST_BROKEN; TestRunCatchesBrokenStores runs it in a child
// process and expects it to fail.
func TestBrokenStore(t *testing.T) {
	name := os.Getenv("RATELIMITTEST_BROKEN")
	if name == "" {
		t.Skip("run by TestRunCatchesBrokenStores")
	}
	ratelimittest.Run(t, func(*testing.T) ratelimit.Store {
		return &refStore{m: map[string]time.Time{}, flaws: broken[name]}
	})
}

// The suite must catch broken stores, or it proves nothing.
func TestRunCatchesBrokenStores(t *testing.T) {
	tests := []struct{ store, subtest string }{
		{"racy", "Concurrent"},
		{"countsRefusal", "RefusalChangesNothing"},
		{"retainsKey", "KeyNotRetained"},
		{"bankedRefund", "RefundCappedAtBurst"},
		{"trims", "KeysAreIndependent"},
		{"ignoresCost", "Cost"},
		{"ignoresCost", "CostAboveBurst"},
		{"noClamp", "Recovery"},
		{"offByOne", "BurstThenRefuse"},
		{"noRetryAfter", "BurstThenRefuse"},
	}
	for _, tt := range tests {
		t.Run(tt.store+"/"+tt.subtest, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStore$/^"+tt.subtest+"$", "-test.v")
			cmd.Env = append(os.Environ(), "RATELIMITTEST_BROKEN="+tt.store)
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

func TestHelperStores(t *testing.T) {
	if _, err := (ratelimittest.DownStore{}).Take(context.Background(), "k", ratelimittest.Slow(1), 1); err == nil {
		t.Fatal("DownStore succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := (ratelimittest.SlowStore{}).Take(ctx, "k", ratelimittest.Slow(1), 1); err == nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("SlowStore returned %v after %s", err, time.Since(start))
	}
}
