package gateway

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"time"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// tree is one handler tree, built from one configuration. A reload builds
// a new tree and swaps it in whole: a request runs entirely in the tree it
// started in, so it never sees half of an old configuration and half of a
// new one.
type tree struct {
	cfg       Config // effective (defaults applied)
	https     http.Handler
	http      http.Handler
	transport *http.Transport  // the full transport (and the health checks')
	direct    *directTransport // the proxy's, over transport
	fwd       *forwarder       // the proxy for what direct takes
	health    *health
	closers   []io.Closer // what bulwark.New opened (the media root)
}

// closeIdle closes the upstream connections the tree's transports keep.
func (t *tree) closeIdle() {
	t.direct.CloseIdleConnections() // the full transport's too
}

func (t *tree) close() {
	for _, c := range t.closers {
		c.Close()
	}
}

// octetStream is the type given to upstream responses that have none, and
// nosniff the X-Content-Type-Options value (see ModifyResponse in
// buildTree). Shared without copying: ReverseProxy copies each value into
// the client's header, it never writes into these slices.
var (
	octetStream = []string{"application/octet-stream"}
	nosniff     = []string{"nosniff"}
)

func (g *Gateway) buildTree(cfg Config) (*tree, error) {
	if cfg.HTTPS.RedirectPort == 0 && !cfg.proxyTerminatesTLS() {
		// listen.https on port 0: redirect to the port it was bound to
		// (see bindRedirectPort); before that, to the request's port.
		cfg.HTTPS.RedirectPort = int(g.httpsPort.Load())
	}
	target, err := cfg.upstreamURL()
	if err != nil {
		return nil, err
	}
	tr, err := newTransport(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	// The access log and the edge's own refusals resolve the client of a
	// request the chain did not hand on with the chain's proxy rules.
	pc := cfg.Proxy
	pc.Logger = slog.New(slog.DiscardHandler) // the chain's resolver warns
	resolver, err := trustedproxy.New(pc)
	if err != nil {
		return nil, fmt.Errorf("%w: [proxy]: %w", ErrConfig, err)
	}
	t := &tree{cfg: cfg, transport: tr}
	// The proxy's transport: the direct path for what it takes (plain
	// HTTP upstreams), the full transport for the rest (see
	// directTransport).
	d := &net.Dialer{Timeout: cfg.Upstream.DialTimeout, KeepAlive: 30 * time.Second}
	t.direct = newDirectTransport(target, d.DialContext, tr, cfg.Upstream)
	healthHost := ""
	if hs := exactHosts(cfg.Hosts.Allowed); len(hs) > 0 {
		healthHost = hs[0]
	}
	t.health = newHealth(cfg.Upstream, healthHost, target, t.transport, g.logger, g.metrics)

	chain, closer, err := g.composeChain(cfg)
	if err != nil {
		return nil, err
	}
	t.closers = append(t.closers, closer)
	cookies := newCookieHardener(cfg.Edge.Cookies)
	fw := newForwarding(cfg.Forwarding)
	logger := g.events
	allowSniffing := cfg.Headers.InsecureAllowSniffing
	modify := func(res *http.Response) error {
		h := res.Header
		// (Security headers the edge also sets are reduced to the
		// edge's value when the response is written: see dedupe.)
		//
		// Cookies: fail closed, without facts (never in this tree)
		// assume HTTPS and add Secure.
		secure := true
		if c, ok := reqstate.From(res.Request).Conn(); ok {
			secure = c.Scheme == "https"
		}
		if n := cookies.harden(h, secure); n > 0 {
			refusal.Log(logger, res.Request, "set-cookie dropped", "set_cookie_dropped", "unparsable",
				slog.Int("count", n))
		}
		// No Content-Type from the upstream: net/http would sniff the
		// body and could call it text/html, letting an uploaded file
		// run as a page. The body is declared opaque instead, and
		// nosniff stops the browser from sniffing it back.
		if _, ok := h["Content-Type"]; !ok && mayHaveBody(res) {
			h["Content-Type"] = octetStream
		}
		// Unless the operator allowed sniffing ([headers]
		// insecure_allow_sniffing, Django's
		// SECURE_CONTENT_TYPE_NOSNIFF = False): then the edge adds
		// nosniff nowhere, as the headers layer does not either. The
		// untyped body is still declared opaque above.
		if _, ok := h["X-Content-Type-Options"]; !ok && !allowSniffing {
			h["X-Content-Type-Options"] = nosniff
		}
		return nil
	}
	rewriteOut := rewrite(target, cfg.Proxy.UseForwardedPort, fw)
	onError := errorHandler(g.events, g.metrics)
	rp := &httputil.ReverseProxy{
		Rewrite:        rewriteOut,
		Transport:      t.direct,
		BufferPool:     g.buffers,
		ErrorHandler:   onError,
		ModifyResponse: modify,
		// The gateway is the logger: the standard log package is not used.
		ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug),
	}
	fwd := &forwarder{t: t.direct, rewrite: rewriteOut, modify: modify, onError: onError, buffers: g.buffers}
	t.fwd = fwd
	buf := newBufferer(cfg.Buffering, cfg.Timeouts.Read, g.events)
	var app http.Handler = &canonicalizer{
		next:   buf.guard(chain(&proxyHandler{rp: rp, fwd: fwd, m: g.metrics, logger: g.logger, events: g.events, fw: fw, buf: buf})),
		fw:     fw,
		events: g.events,
		logger: g.logger,
		tp:     resolver,
	}
	access := g.access
	if cfg.AccessLog.Disabled {
		access = nil
	}
	// The public health path is answered before the chain: a load
	// balancer's check names no allowed host and may speak plain HTTP.
	front, err := newPublicHealth(cfg.Health, t.health, app)
	if err != nil {
		t.close()
		return nil, err
	}
	pg, err := cfg.Pages.load(cfg.Uploads.Policy.Allow)
	if err != nil {
		t.close()
		return nil, err
	}
	t.https = observe(front, access, g.metrics, resolver, pg)
	t.http = t.https
	if g.acme != nil {
		// HTTP-01 challenges are answered before anything else; every
		// other request goes through the chain, which redirects.
		t.http = observe(g.acme.httpHandler(front), access, g.metrics, resolver, pg)
	}
	return t, nil
}

func mayHaveBody(res *http.Response) bool {
	switch {
	case res.StatusCode < 200, res.StatusCode == http.StatusNoContent, res.StatusCode == http.StatusNotModified:
		return false
	case res.ContentLength == 0:
		return false
	}
	return true
}

// proxyHandler is the innermost handler: it refuses a request whose host
// no layer validated, then proxies.
type proxyHandler struct {
	rp     *httputil.ReverseProxy
	fwd    *forwarder // what the direct transport takes (see forwarder)
	m      *metrics
	logger *slog.Logger
	events *slog.Logger // refusals (counted)
	fw     *forwarding
	buf    *bufferer
}

func (p *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, ok := upstreamHost(r); !ok {
		// Fail closed: the chain always validates the host before this
		// point; reaching here without a validated host is a
		// configuration error, and forwarding the client's Host would
		// hand the upstream an unchecked value (password-reset poisoning).
		p.m.refusal("disallowed_host", "not_validated")
		refusal.Log(p.logger, r, "host not validated", "disallowed_host", "not_validated")
		writeStatus(w, http.StatusBadRequest)
		return
	}
	if host, _ := upstreamHost(r); !p.fw.portAllowed(r, host, trustedproxy.FactsOf(r)) {
		// The port of the validated host is the upstream's idea of its
		// own port (Django's get_port with USE_X_FORWARDED_PORT, and
		// build_absolute_uri): one the gateway does not serve would put
		// a client-chosen port into password-reset links.
		refusal.Log(p.events, r, "port not served", "disallowed_host", "port_not_served")
		writeStatus(w, http.StatusBadRequest)
		return
	}
	// The body is read in full before the upstream is contacted (see
	// BufferingConfig): a slow client never holds an upstream worker.
	r, ok := p.buf.prepare(w, r)
	if !ok {
		return
	}
	if r.Body != nil {
		// The transport closes it too, maybe later: spool.Body allows both.
		defer r.Body.Close()
	}
	start := time.Now()
	if sw := findStatusWriter(w); sw != nil {
		// What follows is the upstream's answer: its error pages are its
		// own (errorHandler takes the mark back for the gateway's 502).
		sw.upstream = true
	}
	if p.fwd.takes(r) {
		p.fwd.ServeHTTP(w, r)
	} else {
		p.rp.ServeHTTP(w, r)
	}
	p.m.upstreamLatency.Observe(time.Since(start).Seconds())
}
