package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/limitsrefusal"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// newTransport returns the upstream transport: no environment proxy (an
// HTTP_PROXY variable must not redirect traffic meant for the app), bounded
// dials and header waits, and enough idle connections for the gateway's
// concurrency (the standard library keeps 2 per host, which serialises a
// busy gateway on connection setup).
func newTransport(c UpstreamConfig) (*http.Transport, error) {
	d := &net.Dialer{Timeout: c.DialTimeout, KeepAlive: 30 * time.Second}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%w: upstream.ca_file: %w", ErrConfig, err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: upstream.ca_file %q holds no PEM certificate", ErrConfig, c.CAFile)
		}
	}
	return &http.Transport{
		TLSClientConfig:       tc,
		Proxy:                 nil,
		DialContext:           earlyAnswerDialer(d.DialContext),
		MaxIdleConns:          c.MaxIdleConns,
		MaxIdleConnsPerHost:   c.MaxIdleConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: c.ResponseHeaderTimeout,
		ExpectContinueTimeout: 1 * time.Second,
		// The upstream gets the request the client sent: the transport
		// adds no Accept-Encoding of its own (and so undoes no encoding
		// of the answer), as the direct path does not either.
		DisableCompression: true,
	}, nil
}

// bufferPool hands ReverseProxy 32 KiB copy buffers, so a response copy
// does not allocate one per request. It pools the arrays themselves: a
// slice handed back is turned into its array pointer without allocating
// (pooling *[]byte would allocate the slice header on every Put).
type bufferPool struct{ p sync.Pool }

const copyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { return new([copyBufferSize]byte) }}}
}

func (b *bufferPool) Get() []byte { return b.p.Get().(*[copyBufferSize]byte)[:] }

func (b *bufferPool) Put(s []byte) {
	if cap(s) < copyBufferSize {
		return
	}
	b.p.Put((*[copyBufferSize]byte)(s[:copyBufferSize]))
}

var _ httputil.BufferPool = (*bufferPool)(nil)

// proxyHeaders are the headers that carry claims about the client or the
// original request (address, scheme, host, port) and that proxies in
// front of a gateway commonly write (nginx's X-Real-IP, CDNs' client
// headers). A client can send any of them; an upstream that believes one
// (Django with SECURE_PROXY_SSL_HEADER or USE_X_FORWARDED_HOST, a logger
// reading X-Real-IP) would take the client's word for it. They are
// stripped from every request except, in their canonical spelling, from a
// trusted proxy. They are compared after folding '_' to '-', since WSGI
// and CGI servers map both spellings to the same variable
// (HTTP_X_FORWARDED_PROTO). X-Forwarded and every X-Forwarded-* name
// (-For, -Host, -Proto, -Port, -Prefix, -Server, -Scheme, -Ssl...) are
// matched by prefix in isProxyHeader.
var proxyHeaders = map[string]bool{
	"forwarded":                true,
	"x-real-ip":                true,
	"x-client-ip":              true,
	"true-client-ip":           true,
	"x-cluster-client-ip":      true,
	"cf-connecting-ip":         true,
	"fastly-client-ip":         true,
	"x-original-forwarded-for": true,
	"x-url-scheme":             true,
	"front-end-https":          true,
}

// strippedHeaders are the other client claims that IP and proxy libraries
// of popular frameworks read (django-ipware's Client-IP, Forwarded-For and
// Via; Rails' Client-IP; Express's request-ip; Symfony's X-Original-URL)
// and request overrides (Symfony and IIS rewrite the path from
// X-Original-URL or X-Rewrite-URL; method-override middleware takes the
// method from X-HTTP-Method-Override), which would make an app route a
// request other than the one the edge judged. They are stripped from every
// request, a trusted proxy's included: a load balancer passes headers it
// does not know through unchanged, so their presence says nothing about
// who wrote them, and the upstream learns the client from the gateway's
// X-Forwarded-For.
var strippedHeaders = map[string]bool{
	"client-ip":                true,
	"forwarded-for":            true,
	"via":                      true,
	"cf-connecting-ipv6":       true,
	"cf-pseudo-ipv4":           true,
	"cf-visitor":               true,
	"x-appengine-user-ip":      true,
	"x-envoy-external-address": true,
	"x-originating-ip":         true,
	"x-remote-ip":              true,
	"x-remote-addr":            true,
	"x-proxyuser-ip":           true,
	"wl-proxy-client-ip":       true,
	"proxy-client-ip":          true,
	"x-scheme":                 true,
	"x-host":                   true,
	"x-original-host":          true,
	"x-original-url":           true,
	"x-rewrite-url":            true,
	"x-http-method-override":   true,
	"x-http-method":            true,
	"x-method-override":        true,
}

// proxyHeaderKind reports whether name (any case, '_' or '-') claims facts
// about the client (proxy: one of proxyHeaders or strippedHeaders, or
// X-Forwarded and X-Forwarded-*), and whether it is stripped even from a
// trusted proxy (always). It does not allocate.
func proxyHeaderKind(name string) (proxy, always bool) {
	var buf [64]byte
	b, ok := foldInto(&buf, name)
	if !ok {
		return false, false
	}
	if bytes.Equal(b, []byte("x-forwarded")) || bytes.HasPrefix(b, []byte("x-forwarded-")) {
		return true, false
	}
	// The conversions in map indexes do not allocate.
	if strippedHeaders[string(b)] {
		return true, true
	}
	return proxyHeaders[string(b)], false
}

// foldInto writes name into buf lower-cased with '_' as '-', the spelling
// WSGI and CGI servers make of both, and returns it; ok is false when name
// is longer than buf (no header this package looks for is).
func foldInto(buf *[64]byte, name string) (b []byte, ok bool) {
	if len(name) > len(buf) {
		return nil, false
	}
	b = buf[:len(name)]
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_':
			c = '-'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b, true
}

// isProxyHeader reports whether name (any case, '_' or '-') claims facts
// about the client (see proxyHeaderKind).
func isProxyHeader(name string) bool {
	p, _ := proxyHeaderKind(name)
	return p
}

// stripProxyHeaders deletes the headers isProxyHeader names from h. When
// keepTrusted is set (the peer is a trusted proxy), the canonical
// spellings of proxyHeaders are kept; the underscore variants and
// strippedHeaders go: a proxy we trust writes X-Forwarded-For, never
// X_Forwarded_For, so an underscore variant can only come from the client
// behind it.
func stripProxyHeaders(h http.Header, keepTrusted bool) {
	for k := range h {
		proxy, always := proxyHeaderKind(k)
		if !proxy {
			continue
		}
		if keepTrusted && !always && !strings.Contains(k, "_") {
			continue
		}
		delete(h, k)
	}
}

// upstreamHost returns the host the upstream request carries: the host the
// hosts layer validated. ok is false when no layer validated one; the
// request is then refused rather than forwarded with a host nobody checked.
func upstreamHost(r *http.Request) (string, bool) {
	h, ok := hosts.Host(r)
	if !ok || h == "" {
		return "", false
	}
	return h, true
}

// rewrite builds the outbound request (ReverseProxy.Rewrite; the request it
// is given is never the inbound one). ReverseProxy has already removed
// hop-by-hop headers, Forwarded, X-Forwarded, -For, -Host and -Proto.
// useFwdPort is the chain's trustedproxy UseForwardedPort.
func rewrite(target *url.URL, useFwdPort bool, fw *forwarding) func(*httputil.ProxyRequest) {
	return func(pr *httputil.ProxyRequest) {
		f := trustedproxy.FactsOf(pr.In)
		trusted := f.ViaProxy
		stripProxyHeaders(pr.Out.Header, trusted)
		fw.outbound(pr.Out.Header, trusted)
		if trusted {
			// ReverseProxy dropped Forwarded before Rewrite; from a trusted
			// proxy it is the proxy's own statement and passes on.
			if fwd := pr.In.Header["Forwarded"]; len(fwd) > 0 {
				pr.Out.Header["Forwarded"] = fwd
			}
		}
		pr.SetURL(target)
		// The query is passed byte for byte: the gateway takes no decision
		// on it, and the upstream must see what the client sent (SetURL
		// works on a copy from which Go dropped parameters it can't parse).
		if target.RawQuery == "" {
			pr.Out.URL.RawQuery = pr.In.URL.RawQuery
		}
		host, _ := upstreamHost(pr.In)
		pr.Out.Host = host

		// One array backs the single values set below, each slice with a
		// capacity of one (an append anywhere copies), so the headers
		// cost one allocation.
		vals := make([]string, 4)
		// X-Forwarded-For: the client chain as the gateway established it.
		// From a trusted proxy, its X-Forwarded-For is kept and the peer
		// appended (the upstream sees the whole chain); from anyone else,
		// just the peer's address.
		peer := peerString(pr.In, f.Peer)
		if trusted {
			if prior := pr.In.Header.Values("X-Forwarded-For"); len(prior) > 0 && peer != "" {
				pr.Out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+peer)
			} else if peer != "" {
				pr.Out.Header.Set("X-Forwarded-For", peer)
			}
		} else if peer != "" {
			vals[0] = peer
			pr.Out.Header["X-Forwarded-For"] = vals[0:1:1]
		}
		// Proto and Host are the facts the gateway acted on, so that an
		// upstream Django with SECURE_PROXY_SSL_HEADER =
		// ("HTTP_X_FORWARDED_PROTO", "https") and USE_X_FORWARDED_HOST
		// agrees with the gateway, whatever the client sent.
		vals[1] = f.Scheme
		pr.Out.Header["X-Forwarded-Proto"] = vals[1:2:2]
		vals[2] = host
		pr.Out.Header["X-Forwarded-Host"] = vals[2:3:3]
		// Port, for an upstream Django with USE_X_FORWARDED_PORT (its
		// get_port), is likewise the gateway's own fact; any value the
		// client sent was stripped above, and one from a trusted proxy is
		// replaced unless the chain itself took it (UseForwardedPort).
		if p := forwardedPort(pr.In, &f, host, useFwdPort); p != "" {
			vals[3] = p
			pr.Out.Header["X-Forwarded-Port"] = vals[3:4:4]
		} else {
			delete(pr.Out.Header, "X-Forwarded-Port")
		}
	}
}

// peerString is the peer's address as text: the address part of
// RemoteAddr when it reads as the peer (no allocation), else the peer
// formatted, else (no facts) RemoteAddr's address part.
func peerString(in *http.Request, peer netip.Addr) string {
	host, _, err := net.SplitHostPort(in.RemoteAddr)
	if !peer.IsValid() {
		if err != nil {
			return ""
		}
		return host
	}
	if err == nil {
		if a, err := netip.ParseAddr(host); err == nil && a == peer {
			return host
		}
	}
	return peer.String()
}

// forwardedPort returns the port the client reached, as the gateway
// established it: X-Forwarded-Port from a trusted proxy when the chain
// reads it (UseForwardedPort; the resolver has already refused a value
// that is not a port), else the port of the validated host when it
// carries one (the client's view, which may differ from the listener's
// behind a port mapping), else the listener's port. Empty when unknown.
func forwardedPort(in *http.Request, f *trustedproxy.Facts, host string, useFwdPort bool) string {
	if f.ViaProxy && useFwdPort {
		if _, ok := in.Header["X-Forwarded-Port"]; ok {
			return f.Port
		}
	}
	if p := validatedHostPort(host); p != "" {
		return p
	}
	return f.Port
}

// validatedHostPort returns the port of a validated host ("example.com:8443",
// "[::1]:8443"), or "" when it has none.
func validatedHostPort(host string) string {
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return ""
	}
	return host[i+1:]
}

// errorHandler answers a failed proxy attempt. The client gets the status
// text only: the error can hold upstream addresses and internals.
func errorHandler(logger *slog.Logger, m *metrics) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if sw := findStatusWriter(w); sw != nil {
			sw.upstream = false // the gateway answers
		}
		if cerr := clientFault(w); cerr != nil {
			// A streamed body failed on the client's side: whatever
			// the transport made of it, the client is at fault.
			refuseBody(logger, w, r, cerr)
			return
		}
		var mbe *http.MaxBytesError
		var le *limits.Error
		switch {
		case errors.As(err, &le):
			// The body passed the declared-length check but grew past
			// the cap while streaming (chunked): 413, not 502, and the
			// limits layer's own event.
			limitsrefusal.Write(w, r, logger, le)
			return
		case errors.As(err, &mbe):
			// A body over the limit surfaces here mid-copy (chunked
			// uploads); it is the client's fault, not the upstream's.
			refusal.Log(logger, r, "request body too large", "body_too_large", "max_bytes")
			writeStatus(w, http.StatusRequestEntityTooLarge)
			return
		case errors.Is(err, errClientGone), errors.Is(err, context.Canceled) && r.Context().Err() != nil:
			// The client went away; nobody reads this answer.
			writeStatus(w, http.StatusBadGateway)
			return
		}
		reason := "upstream_unreachable"
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			reason = "upstream_timeout"
		}
		m.upstreamErrors.WithLabelValues(reason).Inc()
		logger.LogAttrs(r.Context(), slog.LevelWarn, "upstream error",
			slog.String("event", "upstream_error"),
			slog.String("reason", reason),
			slog.String("error", err.Error()),
			slog.String("client_ip", refusal.ClientIP(r)),
			slog.String("method", r.Method),
			slog.String("path", refusal.Path(r)))
		writeStatus(w, http.StatusBadGateway)
	}
}

// writeStatus writes the status with its text as the body, never detail.
func writeStatus(w http.ResponseWriter, code int) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(http.StatusText(code)))
}
