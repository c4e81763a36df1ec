package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// health checks the upstream periodically; /healthz on the admin listener
// and the bulwark_upstream_up gauge reflect the last result.
type health struct {
	up       atomic.Bool
	checked  atomic.Bool
	target   *url.URL
	path     string
	host     string // Host header of the check
	interval time.Duration
	timeout  time.Duration
	client   *http.Client
	logger   *slog.Logger
	m        *metrics
	cancel   context.CancelFunc
	done     chan struct{}
}

func newHealth(c UpstreamConfig, host string, target *url.URL, tr http.RoundTripper, logger *slog.Logger, m *metrics) *health {
	return &health{
		target: target, path: c.HealthPath, host: host,
		interval: c.HealthInterval, timeout: c.HealthTimeout,
		client: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect answer is an answer
		}},
		logger: logger, m: m,
	}
}

// start runs the checks until stop; the first runs at once. prev seeds
// the state (a reload keeps reporting the previous tree's state until its
// own first check).
func (h *health) start(prev *health) {
	if prev != nil && prev.checked.Load() {
		h.up.Store(prev.up.Load())
		h.checked.Store(true)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		t := time.NewTicker(h.interval)
		defer t.Stop()
		for {
			h.check(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (h *health) stop() {
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
}

func (h *health) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	ok := h.probe(ctx)
	if !ok && errors.Is(context.Cause(ctx), context.Canceled) {
		return // stopping
	}
	was, seen := h.up.Swap(ok), h.checked.Swap(true)
	if ok {
		h.m.upstreamUp.Set(1)
	} else {
		h.m.upstreamUp.Set(0)
	}
	if !seen || was != ok {
		state := "down"
		if ok {
			state = "up"
		}
		h.logger.LogAttrs(ctx, slog.LevelInfo, "upstream health changed",
			slog.String("event", "upstream_health"), slog.String("status", state))
	}
}

func (h *health) probe(ctx context.Context) bool {
	if h.path == "" {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", hostPort(h.target))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	u := *h.target
	u.Path, u.RawPath, u.RawQuery = singleJoin(h.target.Path, h.path), "", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false
	}
	req.Header.Set("User-Agent", "bulwark-health")
	if h.host != "" {
		req.Host = h.host
	}
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := h.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

// healthy reports the last result (false before the first check).
func (h *health) healthy() bool { return h.checked.Load() && h.up.Load() }

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

func singleJoin(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case a[len(a)-1] == '/' && b[0] == '/':
		return a + b[1:]
	}
	return a + b
}
