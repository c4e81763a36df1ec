package gateway

import (
	"context"

	"io"
	"net"
	"net/http"
	"net/netip"

	"github.com/bulwarkdev/bulwark/internal/pathset"
)

// HealthConfig is the [health] section: a health path on the public
// listeners, for load balancers and orchestrators that cannot reach the
// loopback admin listener.
type HealthConfig struct {
	// Path is answered by the gateway itself on the HTTPS and HTTP
	// listeners, before host validation and the HTTPS redirect (a load
	// balancer's check names no allowed host and speaks plain HTTP to a
	// backend): 200 "ok" when the upstream is healthy, else 503 "upstream
	// down". Only GET and HEAD; other methods go through the chain as any
	// request. The answer reveals only the upstream's state. It must be
	// an exact, clean path ("/healthz"); empty (the default): no public
	// health path (the admin listener's /healthz remains).
	Path string `toml:"path"`
	// Live makes each request check the upstream at once (a GET of
	// upstream.health_path, or a TCP connect when that is empty) within
	// upstream.health_timeout, instead of answering with the last
	// periodic check. False (the default) answers from the last check,
	// which costs the upstream nothing however often the path is asked.
	// Live, every request to the path costs the upstream one: limit it
	// with AllowNetworks (bulwark check warns otherwise, BW121).
	Live bool `toml:"live"`
	// AllowNetworks limits the path to clients whose TCP peer address is
	// in one of these networks (CIDR, "10.0.0.0/8"; forwarded headers are
	// not read). Others are served as any request on that path (the chain
	// runs: host validation, the redirect, the upstream). Empty (the
	// default): every client.
	AllowNetworks []string `toml:"allow_networks"`
}

func (c HealthConfig) validate() error {
	if c.Path == "" {
		if c.Live || len(c.AllowNetworks) > 0 {
			return invalid("[health]: settings given but no path: set health.path")
		}
		return nil
	}
	if err := pathset.Validate(c.Path); err != nil {
		return invalid("health.path: %v", err)
	}
	if _, err := parseNetworks(c.AllowNetworks); err != nil {
		return err
	}
	return nil
}

func parseNetworks(nets []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, n := range nets {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, invalid("health.allow_networks: %q is not a network in CIDR form", n)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// publicHealth answers the health path on the public listeners, in front
// of the chain (see HealthConfig).
type publicHealth struct {
	path    string
	live    bool
	allowed []netip.Prefix
	h       *health
	next    http.Handler
}

func newPublicHealth(c HealthConfig, h *health, next http.Handler) (http.Handler, error) {
	if c.Path == "" {
		return next, nil
	}
	nets, err := parseNetworks(c.AllowNetworks)
	if err != nil {
		return nil, err
	}
	return &publicHealth{path: c.Path, live: c.Live, allowed: nets, h: h, next: next}, nil
}

func (p *publicHealth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The path as sent: a spelling with dot segments or a query is the
	// upstream's to answer, through the chain.
	if r.URL.Path != p.path || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !p.allows(r) {
		p.next.ServeHTTP(w, r)
		return
	}
	up := false
	if p.live {
		ctx, cancel := context.WithTimeout(r.Context(), p.h.timeout)
		up = p.h.probe(ctx)
		cancel()
	} else {
		up = p.h.healthy()
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Content-Type-Options", "nosniff")
	body := "ok\n"
	if !up {
		body = "upstream down\n"
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// allows reports whether the TCP peer may use the health path.
func (p *publicHealth) allows(r *http.Request) bool {
	if len(p.allowed) == 0 {
		return true
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, n := range p.allowed {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
