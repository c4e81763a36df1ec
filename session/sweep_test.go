package session_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkdev/bulwark/session"
)

// fakePurger records when it was called and returns scripted results.
type fakePurger struct {
	mu      sync.Mutex
	calls   []time.Time
	results []result
}

type result struct {
	n   int64
	err error
}

func (p *fakePurger) Purge(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, time.Now())
	if len(p.results) == 0 {
		return 0, nil
	}
	r := p.results[0]
	p.results = p.results[1:]
	return r.n, r.err
}

func TestSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p := &fakePurger{results: []result{
			{3, nil},
			{0, errors.New("pgstore: purge: connection refused")},
			{0, nil},
			{7, nil},
		}}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		start := time.Now()
		go func() { done <- session.Sweep(ctx, p, 10*time.Minute, logger) }()
		time.Sleep(35 * time.Minute)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Sweep returned %v, want context.Canceled", err)
		}
		// At 0, 10, 20 and 30 minutes: once at once, then every interval,
		// and a failure does not stop the sweeping.
		if len(p.calls) != 4 {
			t.Fatalf("Purge called %d times, want 4", len(p.calls))
		}
		for i, c := range p.calls {
			if want := start.Add(time.Duration(i) * 10 * time.Minute); !c.Equal(want) {
				t.Errorf("call %d at %v, want %v", i, c.Sub(start), want.Sub(start))
			}
		}
		out := buf.String()
		for _, want := range []string{
			`level=INFO msg="expired sessions purged" event=session_purge removed=3`,
			`level=WARN msg="session purge failed" event=session_store_error reason=purge removed=0`,
			`error="pgstore: purge: connection refused"`,
			`level=DEBUG msg="no expired sessions to purge" event=session_purge removed=0`,
			`event=session_purge removed=7`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestSweepDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		old := slog.Default()
		slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
		defer slog.SetDefault(old)
		p := &fakePurger{results: []result{{1, nil}, {1, nil}}}
		ctx, cancel := context.WithTimeout(context.Background(), session.DefaultSweepInterval+time.Minute)
		defer cancel()
		err := session.Sweep(ctx, p, 0, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Sweep = %v", err)
		}
		if len(p.calls) != 2 {
			t.Fatalf("Purge called %d times in one default interval, want 2", len(p.calls))
		}
		if !strings.Contains(buf.String(), "removed=1") {
			t.Fatalf("nil logger did not log to slog.Default: %q", buf.String())
		}
	})
}

// A Sweep cancelled during a purge returns promptly and does not report
// the cancellation as a store failure.
func TestSweepCancelledMidPurge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		ctx, cancel := context.WithCancel(context.Background())
		p := purgeFunc(func(ctx context.Context) (int64, error) {
			cancel()
			<-ctx.Done()
			return 0, ctx.Err()
		})
		if err := session.Sweep(ctx, p, time.Minute, logger); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sweep = %v", err)
		}
		if strings.Contains(buf.String(), "session_store_error") {
			t.Fatalf("cancellation logged as a store error:\n%s", buf.String())
		}
	})
}

type purgeFunc func(context.Context) (int64, error)

func (f purgeFunc) Purge(ctx context.Context) (int64, error) { return f(ctx) }

func TestSweepNilPurger(t *testing.T) {
	if err := session.Sweep(context.Background(), nil, time.Minute, nil); err == nil {
		t.Fatal("Sweep(nil Purger) returned nil")
	}
}
