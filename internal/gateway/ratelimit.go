package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	"github.com/bulwarkdev/bulwark/ratelimit/redisstore"
)

// rateSweepEvery is how often the rows of clients whose allowance has
// recovered are removed from a PostgreSQL rate-limit table.
const rateSweepEvery = time.Minute

// rateLimitStore is the one place that decides where the counts of the
// [[rate_limit]] rules live, made once per gateway so that a reload (a
// SIGHUP) gives no client a fresh allowance:
//   - a store given in Go (Config.RateLimitStore), as it is;
//   - with [cluster], the fleet's store, so that every gateway counts
//     against the same limit: on Redis, ratelimit/redisstore on the
//     cluster's client (keys "<prefix>:ratelimit:..."); on PostgreSQL,
//     ratelimit/pgstore on its pool (table "<prefix>_ratelimit", swept
//     every minute);
//   - otherwise a memory store of the gateway's own.
//
// Every call is bounded by the rule's timeout (ratelimit.Rule.Timeout),
// not the cluster's: a rate limit fails open sooner than the state that
// must not be lost.
func (g *Gateway) rateLimitStore(cfg Config) (ratelimit.Store, error) {
	if cfg.RateLimitStore != nil {
		return cfg.RateLimitStore, nil
	}
	g.rateMu.Lock()
	defer g.rateMu.Unlock()
	if g.rateStore != nil {
		return g.rateStore, nil
	}
	prefix := cfg.Cluster.Prefix
	if prefix == "" {
		prefix = cluster.DefaultPrefix
	}
	switch {
	case g.cluster != nil && cluster.RedisClient(g.cluster) != nil:
		s, err := redisstore.New(cluster.RedisClient(g.cluster), redisstore.Config{Prefix: prefix + ":ratelimit:"})
		if err != nil {
			return nil, fmt.Errorf("gateway: rate limits in the cluster store: %w", err)
		}
		g.rateStore = s
	case g.cluster != nil && cluster.PostgresPool(g.cluster) != nil:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s, err := pgstore.New(ctx, cluster.PostgresPool(g.cluster), pgstore.Config{Table: prefix + "_ratelimit"})
		if err != nil {
			return nil, fmt.Errorf("gateway: rate limits in the cluster store: %w", err)
		}
		g.rateStore = s
		g.rateStop = make(chan struct{})
		go g.sweepRateLimits(s, g.rateStop)
	default:
		g.rateStore = ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
	}
	return g.rateStore, nil
}

// sweepRateLimits removes recovered clients' rows until stop is closed.
func (g *Gateway) sweepRateLimits(s *pgstore.Store, stop chan struct{}) {
	t := time.NewTicker(rateSweepEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := s.Sweep(ctx); err != nil {
				g.logger.LogAttrs(ctx, slog.LevelWarn, "rate-limit sweep failed",
					slog.String("event", "rate_limit_sweep_failed"), slog.String("error", err.Error()))
			}
			cancel()
		}
	}
}

// stopRateLimits ends the sweeper (Close).
func (g *Gateway) stopRateLimits() {
	g.rateMu.Lock()
	defer g.rateMu.Unlock()
	if g.rateStop != nil {
		close(g.rateStop)
		g.rateStop = nil
	}
}

// withRateLimits gives the library configuration its store and an
// observer that counts every decision in
// bulwark_rate_limit_decisions_total{rule, decision} (rule names are
// validated, [a-z0-9_-]: a bounded label set). The series of every
// rule and decision exist from the start (at zero), and the observer
// looks its counters up without allocating.
func (g *Gateway) withRateLimits(cfg Config, lc *bulwark.Config) error {
	if len(lc.RateLimit) == 0 {
		return nil
	}
	store, err := g.rateLimitStore(cfg)
	if err != nil {
		return err
	}
	lc.RateLimitStore = store
	counters := make(map[string]*[5]prometheus.Counter, len(lc.RateLimit))
	for _, r := range lc.RateLimit {
		var a [5]prometheus.Counter
		for d := range a {
			a[d] = g.metrics.rateLimits.WithLabelValues(r.Name, ratelimit.Decision(d).String())
		}
		counters[r.Name] = &a
	}
	next := cfg.RateLimitObserve
	lc.RateLimitObserve = func(rule string, d ratelimit.Decision) {
		if a, ok := counters[rule]; ok && int(d) < len(a) {
			a[d].Inc()
		}
		if next != nil {
			next(rule, d)
		}
	}
	return nil
}
