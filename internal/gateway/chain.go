package gateway

import (
	"fmt"
	"io"
	"net/http"

	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// composeChain builds the library chain, in Django's middleware order:
// client facts (trusted proxies), host validation, the HTTPS redirect and
// HSTS, security headers, request limits, then the CSRF check. Every layer
// logs its refusals through g.events, which counts them for Prometheus.
//
// A request for the media host takes a chain of its own (see mediaChain).
func (g *Gateway) composeChain(cfg Config) (func(http.Handler) http.Handler, io.Closer, error) {
	pc := cfg.Proxy
	pc.Logger = g.events
	tp, err := trustedproxy.New(pc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [proxy]: %w", ErrInvalidConfig, err)
	}
	hc := cfg.Hosts
	hc.Logger = g.events
	hv, err := hosts.New(hc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [hosts]: %w", ErrInvalidConfig, err)
	}
	sc := cfg.HTTPS
	sc.Logger = g.events
	hp, err := httpsonly.New(sc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [https]: %w", ErrInvalidConfig, err)
	}
	hs, err := headers.New(cfg.Headers)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [headers]: %w", ErrInvalidConfig, err)
	}
	lc := cfg.Limits
	lc.Logger = g.events
	lim, err := limits.New(lc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [limits]: %w", ErrInvalidConfig, err)
	}
	csrfLayer, err := g.csrfLayer(cfg)
	if err != nil {
		return nil, nil, err
	}
	mediaHandler, closer, err := g.mediaChain(cfg, hp)
	if err != nil {
		return nil, nil, err
	}
	return func(next http.Handler) http.Handler {
		h := csrfLayer(next)
		h = lim.Handler(h)
		h = hs.Handler(h)
		h = hp.Handler(h)
		h = hv.Handler(h)
		h = recordFacts(h)
		if mediaHandler != nil {
			h = mediaSwitch(cfg.Media.Hosts, recordFacts(mediaHandler), h)
		}
		return tp.Handler(h)
	}, closer, nil
}

// recordFacts hands the request's facts, as the trustedproxy layer
// established them, to the access log (the statusWriter wrapping w).
func recordFacts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			sw.facts, _ = trustedproxy.FactsFrom(r)
		}
		next.ServeHTTP(w, r)
	})
}
