package gateway

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// metrics are the gateway's Prometheus series, on a registry of its own
// (several gateways in one process, as in tests, do not collide).
type metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	codes           [600]atomic.Pointer[prometheus.Counter]
	refusals        *prometheus.CounterVec
	upstreamLatency prometheus.Histogram
	upstreamErrors  *prometheus.CounterVec
	upstreamUp      prometheus.Gauge
	reloads         *prometheus.CounterVec
	rateLimits      *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_requests_total", Help: "Requests answered, by status code.",
		}, []string{"code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_refusals_total", Help: "Requests refused by a protection, by event and reason.",
		}, []string{"event", "reason"}),
		upstreamLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "bulwark_upstream_duration_seconds",
			Help:    "Time spent proxying a request to the upstream, until the response is copied.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_upstream_errors_total", Help: "Failed upstream requests (answered 502), by reason.",
		}, []string{"reason"}),
		upstreamUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bulwark_upstream_up", Help: "1 when the last upstream health check passed.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_config_reloads_total", Help: "Configuration reloads, by result.",
		}, []string{"result"}),
		rateLimits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bulwark_rate_limit_decisions_total",
			Help: "Rate-limit decisions, by rule and decision (allowed, limited, failed_open, failed_closed, refunded).",
		}, []string{"rule", "decision"}),
	}
	m.reg.MustRegister(m.requests, m.refusals, m.upstreamLatency, m.upstreamErrors, m.upstreamUp, m.reloads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.rateLimits)
	return m
}

// request counts one answered request; the counter per code is cached so
// the hot path does not format the label.
func (m *metrics) request(code int) {
	if code < 100 || code >= len(m.codes) {
		m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
		return
	}
	if c := m.codes[code].Load(); c != nil {
		(*c).Inc()
		return
	}
	c := m.requests.WithLabelValues(strconv.Itoa(code))
	m.codes[code].Store(&c)
	c.Inc()
}

// refusal counts one refusal by its event and reason, as they are: every
// layer logs a snake_case slug (internal/refusal), never request data, so
// the label set is bounded by the code. A value that is not a slug (which
// the helper never writes) is counted under refusal.InvalidReason rather
// than as a series of its own.
func (m *metrics) refusal(event, reason string) {
	m.refusals.WithLabelValues(label(event), label(reason)).Inc()
}

func label(s string) string {
	if s == "" || refusal.IsSlug(s) {
		return s
	}
	return refusal.InvalidReason
}

// countingHandler is the slog.Handler the protections log through: every
// refusal event they log (a record with an "event" attribute) is counted
// for Prometheus, whatever the log level, then passed on if the
// underlying handler wants it. The protections thus report refusals once,
// in their events, and the metrics can't drift from the logs.
type countingHandler struct {
	next  slog.Handler
	m     *metrics
	event string // from WithAttrs
}

func (h *countingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelDebug || h.next.Enabled(ctx, l)
}

// notRefusals are the gateway's own events, which are not refusals.
var notRefusals = map[string]bool{
	"access": true, "upstream_error": true, "upstream_health": true,
	"config_reloaded": true, "config_reload_failed": true, "server_start": true, "server_stop": true,
	"certificate_reloaded": true, "certificate_reload_failed": true,
}

func (h *countingHandler) Handle(ctx context.Context, r slog.Record) error {
	event, reason, hasID := h.event, "", false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "event":
			event = a.Value.String()
		case "reason":
			reason = a.Value.String()
		case "request_id":
			hasID = true
		}
		return true
	})
	if event != "" && !notRefusals[event] && r.Level <= slog.LevelInfo {
		h.m.refusal(event, reason)
	}
	if h.next.Enabled(ctx, r.Level) {
		// Refusal events carry the request id already (package
		// refusal); the gateway's other events about a request (an
		// upstream error) get it here.
		if id, ok := reqstate.FromContext(ctx).RequestID(); ok && !hasID {
			r = r.Clone()
			r.AddAttrs(slog.String("request_id", id))
		}
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *countingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	ev := h.event
	for _, a := range as {
		if a.Key == "event" {
			ev = a.Value.String()
		}
	}
	return &countingHandler{next: h.next.WithAttrs(as), m: h.m, event: ev}
}

func (h *countingHandler) WithGroup(name string) slog.Handler {
	return &countingHandler{next: h.next.WithGroup(name), m: h.m, event: h.event}
}
