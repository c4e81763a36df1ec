package gateway

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/ratelimit"
)

// rateLimitStore is the one place that decides where the counts of the
// [[rate_limit]] rules live: a store given in Go (Config.RateLimitStore,
// for instance a ratelimit/redisstore or ratelimit/pgstore Store shared by
// several gateways), else the gateway's own memory store, which outlives
// reloads (a SIGHUP does not give every client a fresh allowance).
func (g *Gateway) rateLimitStore(cfg Config) ratelimit.Store {
	if cfg.RateLimitStore != nil {
		return cfg.RateLimitStore
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
