package gateway

import (
	"fmt"
	"io"
	"net/http"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// composeChain builds the chain around the edge: the library chain of
// bulwark.New (security headers, trusted proxies, host validation, the
// HTTPS redirect and HSTS), then request limits and the CSRF check, in
// Django's middleware order. Every layer logs its refusals through
// g.events, which counts them for Prometheus.
//
// A request for the media host takes a chain of its own (see mediaChain).
func (g *Gateway) composeChain(cfg Config) (func(http.Handler) http.Handler, io.Closer, error) {
	bc := cfg.Config
	bc.Logger = g.events
	lib, err := bulwark.New(bc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
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
	mediaHandler, closer, err := g.mediaChain(cfg)
	if err != nil {
		return nil, nil, err
	}
	var resolver *trustedproxy.Resolver
	if mediaHandler != nil {
		pc := cfg.Proxy
		pc.Logger = g.events
		if resolver, err = trustedproxy.New(pc); err != nil {
			closer.Close()
			return nil, nil, fmt.Errorf("%w: [proxy]: %w", ErrInvalidConfig, err)
		}
	}
	return func(next http.Handler) http.Handler {
		h := csrfLayer(next)
		h = lim.Handler(h)
		h = recordFacts(h)
		h = lib.Handler(h)
		if mediaHandler != nil {
			h = mediaSwitch(resolver, cfg.Media.Hosts, mediaHandler, h)
		}
		return h
	}, closer, nil
}

// recordFacts hands the request's facts, as the library chain established
// them, to the access log: the statusWriter under w (layers may have
// wrapped it; http.ResponseController's Unwrap convention finds it).
// Requests refused inside the chain are logged with the connection's
// facts; their refusal event carries the resolved client_ip.
func recordFacts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := w
		for i := 0; i < 8 && rw != nil; i++ {
			if sw, ok := rw.(*statusWriter); ok {
				sw.facts, _ = trustedproxy.FactsFrom(r)
				break
			}
			u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
			if !ok {
				break
			}
			rw = u.Unwrap()
		}
		next.ServeHTTP(w, r)
	})
}
