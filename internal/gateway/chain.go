package gateway

import "net/http"

// composeChain returns the library chain wrapped around the edge, and the
// response headers the chain owns (see ModifyResponse in buildTree).
func (g *Gateway) composeChain(cfg Config) (func(http.Handler) http.Handler, []string, error) {
	return func(h http.Handler) http.Handler { return h }, nil, nil
}

func (g *Gateway) uploadFilter(cfg Config, next http.Handler) (http.Handler, error) { return next, nil }

func (g *Gateway) withMedia(cfg Config, next http.Handler) (http.Handler, error) { return next, nil }
