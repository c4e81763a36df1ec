package gateway

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/internal/pathset"
)

// composeChain builds the chain around the edge: the library chain of
// bulwark.New from the library sections (headers, trusted proxies, the
// media host, host validation, the HTTPS redirect and HSTS, limits, the
// tokenless CSRF check, upload inspection), the one source of every
// protection the gateway shares with applications. Every layer logs its
// refusals through g.events, which counts them for Prometheus. The closer
// releases what bulwark.New opened (the media directory).
//
// The edge scopes the CSRF check to Edge.CSRFPaths from outside: an
// unsafe request on another path is marked csrf.Exempt before the chain
// runs, and the library's csrf layer, which still runs in its place
// (after limits, before uploads, so that a forged upload is refused
// before a byte of it is parsed), lets a marked request through.
func (g *Gateway) composeChain(cfg Config) (func(http.Handler) http.Handler, io.Closer, error) {
	bc := cfg.Library()
	bc.Logger = g.events
	if err := g.withRateLimits(cfg, &bc); err != nil {
		return nil, nil, err
	}
	lib, err := bulwark.New(bc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	exemptAll := cfg.Edge.AllowInsecureNoCSRF
	paths, err := pathset.Parse(cfg.Edge.CSRFPaths)
	if err != nil {
		lib.Close()
		return nil, nil, fmt.Errorf("%w: edge.csrf_paths: %w", ErrConfig, err)
	}
	return func(next http.Handler) http.Handler {
		site := lib.Handler(next)
		exempt := csrf.Exempt(site)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Safe methods are never refused by the CSRF layer: they
			// need no mark (and the mark costs a context).
			if !isSafeMethod(r.Method) {
				if exemptAll || !csrfCovers(paths, r.URL.Path) {
					exempt.ServeHTTP(w, r)
					return
				}
			}
			site.ServeHTTP(w, r)
		})
	}, closerFunc(lib.Close), nil
}

// hasDotSegment reports whether the (decoded) path has a "." or ".."
// segment. Browsers resolve dot segments before they send a URL (and
// "%2e%2e" too), so only tools and attacks send them; and such a path is
// ambiguous: the library's layers match path lists on the cleaned path,
// as a Go router would dispatch it, while an upstream that does not clean
// paths (Django behind gunicorn) routes the path as sent, so that
// "/upload/../x" could reach a wildcard upload view uninspected. The
// canonicalizer refuses such paths for every method (canonicalPath).
func hasDotSegment(p string) bool {
	for len(p) > 0 {
		i := strings.IndexByte(p, '/')
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// csrfCovers reports whether the edge CSRF check applies to path p: when
// p matches the list cleaned (what a router that normalises paths
// dispatches on) or as sent (what one that does not dispatches on).
// Exempting only paths that are outside in both spellings means that
// "/app/../api/x" and "/api/../app/x" are both checked when only "/app/"
// is protected: an upstream may route either way.
func csrfCovers(paths pathset.Set, p string) bool {
	if paths.Empty() {
		return true // fail closed: an empty list is every path
	}
	return paths.Match(p) || paths.MatchAsSent(p)
}
