package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/bulwarkdev/bulwark/ratelimit"
	rlpg "github.com/bulwarkdev/bulwark/ratelimit/pgstore"
	rlredis "github.com/bulwarkdev/bulwark/ratelimit/redisstore"
)

// rateLimitStore is the one place that decides where the counts of the
// [[rate_limit]] rules live: a store given in Go (Config.RateLimitStore,
// for instance a ratelimit/redisstore or ratelimit/pgstore Store shared by
// several gateways), else the [cluster] store's (shared by every gateway
// of the fleet, so a limit holds across them), else the gateway's own
// memory store, which outlives reloads (a SIGHUP does not give every
// client a fresh allowance).
func (g *Gateway) rateLimitStore(cfg Config) ratelimit.Store {
	if cfg.RateLimitStore != nil {
		return cfg.RateLimitStore
	}
	if g.rateShared != nil {
		return g.rateShared
	}
	g.rateMu.Lock()
	defer g.rateMu.Unlock()
	if g.rateMemory == nil {
		g.rateMemory = ratelimit.NewMemoryStore(ratelimit.MemoryConfig{})
	}
	return g.rateMemory
}

// withRateLimits gives the library configuration its store and an
// observer that counts every decision in
// bulwark_rate_limit_decisions_total{rule, decision} (rule names are
// validated, [a-z0-9_-]: a bounded label set). The series of every
// rule and decision exist from the start (at zero), and the observer
// looks its counters up without allocating.
func (g *Gateway) withRateLimits(cfg Config, lc *bulwark.Config) {
	if len(lc.RateLimit) == 0 {
		return
	}
	lc.RateLimitStore = g.rateLimitStore(cfg)
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
}

// clusterRateLimits returns the rate-limit store on the connection of the
// [cluster] store: keys under "<prefix>:ratelimit:" in Redis, the table
// "<prefix>_ratelimit" in PostgreSQL (created if missing). Each Take has
// the rule's own deadline (ratelimit's timeout); the Redis client's read
// and write timeouts (cluster.timeout) bound it too.
func clusterRateLimits(s cluster.Store, prefix string) (ratelimit.Store, error) {
	if c := cluster.RedisClient(s); c != nil {
		st, err := rlredis.New(c, rlredis.Config{Prefix: prefix + ":ratelimit:"})
		if err != nil {
			return nil, fmt.Errorf("gateway: cluster rate limits: %w", err)
		}
		return st, nil
	}
	if p := cluster.PostgresPool(s); p != nil {
		ctx, cancel := context.WithTimeout(context.Background(), max(3*cluster.Timeout(s), 3*time.Second))
		defer cancel()
		st, err := rlpg.New(ctx, p, rlpg.Config{Table: prefix + "_ratelimit"})
		if err != nil {
			return nil, fmt.Errorf("gateway: cluster rate limits: %w", err)
		}
		return st, nil
	}
	return nil, nil
}
