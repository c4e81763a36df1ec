package session

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// DefaultSweepInterval is the interval Sweep uses when given none.
const DefaultSweepInterval = time.Hour

// Sweep purges expired records from p: once at once, then every interval
// (DefaultSweepInterval when interval <= 0), until ctx is done, and then
// returns ctx's error. It starts no goroutine of its own: run it in one,
//
//	go session.Sweep(ctx, store, 0, logger)
//
// or call it from a scheduler of your own. Several instances sharing a
// store may all sweep it; the SQL stores in this module make concurrent
// purges cheap.
//
// Sweeping is housekeeping, not security: every store already refuses
// expired records in Find, whether or not they have been purged. So a
// failed purge is logged and retried at the next tick, never fatal.
//
// Each purge that removes records is logged at Info with event
// "session_purge" and the count "removed"; one that removes none at Debug;
// a failure at Warn with event "session_store_error" and reason "purge".
// Nothing about any session (keys, data) is logged. A nil logger means
// slog.Default().
func Sweep(ctx context.Context, p Purger, interval time.Duration, logger *slog.Logger) error {
	if p == nil {
		return errors.New("session: Sweep: nil Purger")
	}
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	if logger == nil {
		logger = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		sweepOnce(ctx, p, logger)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func sweepOnce(ctx context.Context, p Purger, logger *slog.Logger) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	n, err := p.Purge(ctx)
	d := time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		// Cancelled mid-purge: shutting down, not a store failure.
	case err != nil:
		logger.LogAttrs(ctx, slog.LevelWarn, "session purge failed",
			slog.String("event", "session_store_error"),
			slog.String("reason", "purge"),
			slog.Int64("removed", n),
			slog.Duration("duration", d),
			slog.String("error", err.Error()))
	case n > 0:
		logger.LogAttrs(ctx, slog.LevelInfo, "expired sessions purged",
			slog.String("event", "session_purge"),
			slog.Int64("removed", n),
			slog.Duration("duration", d))
	default:
		logger.LogAttrs(ctx, slog.LevelDebug, "no expired sessions to purge",
			slog.String("event", "session_purge"),
			slog.Int64("removed", 0),
			slog.Duration("duration", d))
	}
}
