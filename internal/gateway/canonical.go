package gateway

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"golang.org/x/net/http/httpguts"
)

// The canonicalizer is the first handler of the chain: it makes sure that
// the request every later layer judges is the request the upstream will
// read. An app server reads a request its own way (gunicorn takes the last
// of two Content-Type headers, Go's net/http the first; gunicorn folds
// "Script_Name" into SCRIPT_NAME and re-roots the path; Django routes
// "/upload/../x" as sent while a Go matcher cleans it), so anything one
// side could read differently from the other is refused or made canonical
// here, once, before any check runs:
//
//   - a request whose framing RFC 9112 calls faulty (Content-Length beside
//     Transfer-Encoding, Transfer-Encoding on HTTP/1.0), as the listener
//     saw it on the connection: 400 (event header_refused; see
//     framing.go);
//   - a singleton header sent twice: 400 (event header_refused, reason
//     duplicate_header);
//   - an HTTP/2 request whose host header differs from :authority: 400
//     (reason host_mismatch);
//   - a path with "." or ".." segments (also percent-encoded), an encoded
//     '/' or '\' (%2F, %5C), a backslash, a NUL or another control byte,
//     or that is not absolute: 400 (event path_refused), for every method;
//   - doubled slashes are merged and the escaping made canonical, so that
//     the path the layers match is byte for byte the path forwarded;
//   - header names with '_' are dropped before the upstream (see
//     ForwardingConfig.AllowUnderscoreHeaders), with one header_dropped
//     event;
//   - an HTTP/1 request with a chunked body gets "Connection: close" (see
//     the comment at the check).
//
// Client-identity headers are removed on the way out, in rewrite (see
// stripProxyHeaders); the Host port is checked in proxyHandler, against
// the validated host (see forwarding.portAllowed).

// singletonHeaders are the request headers that carry one value (RFC 9110
// defines them without the list syntax, or a second value is meaningless)
// and that some layer or the upstream decides on. Two of them are refused,
// not merged: which one an app server keeps differs (gunicorn and WSGI
// join repeated headers with ",", Go reads the first), so any choice here
// could differ from the upstream's.
//
// Host and Transfer-Encoding appear for HTTP/2, whose header block may
// repeat them; net/http's HTTP/1 server already refuses two Host or
// Transfer-Encoding fields and two different Content-Length values (and
// merges identical ones). Cookie is here for HTTP/1 (RFC 6265 section 5.4:
// a user agent sends one Cookie header; gunicorn would join two with ","
// into one cookie value); net/http merges the Cookie fields of HTTP/2 into
// one, as RFC 9113 section 8.2.3 prescribes.
var singletonHeaders = map[string]bool{
	"Host":                          true,
	"Content-Length":                true,
	"Content-Type":                  true,
	"Content-Encoding":              true,
	"Content-Disposition":           true,
	"Content-Range":                 true,
	"Transfer-Encoding":             true,
	"Authorization":                 true,
	"Proxy-Authorization":           true,
	"Cookie":                        true,
	"Origin":                        true,
	"Referer":                       true,
	"Sec-Fetch-Site":                true,
	"Sec-Fetch-Mode":                true,
	"Sec-Fetch-Dest":                true,
	"Sec-Fetch-User":                true,
	"X-Csrftoken":                   true, // Django's CSRF_HEADER_NAME
	"X-Requested-With":              true,
	"Range":                         true,
	"If-Modified-Since":             true,
	"If-Unmodified-Since":           true,
	"If-Range":                      true,
	"Max-Forwards":                  true,
	"Date":                          true,
	"User-Agent":                    true,
	"Access-Control-Request-Method": true,
	"Upgrade-Insecure-Requests":     true,
}

// isSingleton reports whether the canonical header key k is a singleton.
func isSingleton(k string) bool { return singletonHeaders[k] }

// forwarding is ForwardingConfig, compiled.
type forwarding struct {
	strip       map[string]bool // folded names (lower case, '_' as '-')
	underscore  map[string]bool // allowed names with '_', lower case
	publicPorts map[int]bool
}

func newForwarding(c ForwardingConfig) *forwarding {
	f := &forwarding{}
	for _, n := range c.StripHeaders {
		if f.strip == nil {
			f.strip = make(map[string]bool)
		}
		f.strip[foldName(n)] = true
	}
	for _, n := range c.AllowUnderscoreHeaders {
		if f.underscore == nil {
			f.underscore = make(map[string]bool)
		}
		f.underscore[strings.ToLower(n)] = true
	}
	for _, p := range c.PublicPorts {
		if f.publicPorts == nil {
			f.publicPorts = make(map[int]bool)
		}
		f.publicPorts[p] = true
	}
	return f
}

// validate reports a ForwardingConfig the gateway cannot apply safely.
func (c ForwardingConfig) validate() error {
	for _, n := range c.StripHeaders {
		if !httpguts.ValidHeaderFieldName(n) {
			return invalid("forwarding.strip_headers: %q is not a header name", n)
		}
	}
	strip := newForwarding(ForwardingConfig{StripHeaders: c.StripHeaders})
	for _, n := range c.AllowUnderscoreHeaders {
		switch {
		case !httpguts.ValidHeaderFieldName(n):
			return invalid("forwarding.allow_underscore_headers: %q is not a header name", n)
		case !strings.Contains(n, "_"):
			return invalid("forwarding.allow_underscore_headers: %q has no '_' (only such names are dropped)", n)
		case isProxyHeader(n), strip.strip[foldName(n)], isSingleton(http.CanonicalHeaderKey(strings.ReplaceAll(n, "_", "-"))),
			strings.EqualFold(n, "script_name"), strings.EqualFold(n, "path_info"):
			// Each of these reaches a WSGI app as a variable a layer
			// or the server decides on.
			return invalid("forwarding.allow_underscore_headers: %q would reach the upstream as a header the gateway decides on", n)
		}
	}
	for _, p := range c.PublicPorts {
		if p < 1 || p > 65535 {
			return invalid("forwarding.public_ports: %d is not a port", p)
		}
	}
	return nil
}

// foldName lower-cases name and turns '_' into '-', the spelling WSGI and
// CGI servers make of both.
func foldName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c == '_':
			b[i] = '-'
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// stripped reports whether the header name k is on the configured strip
// list, without allocating.
func (f *forwarding) stripped(k string) bool {
	if len(f.strip) == 0 {
		return false
	}
	var buf [64]byte
	b, ok := foldInto(&buf, k)
	if !ok {
		return f.strip[foldName(k)]
	}
	return f.strip[string(b)] // the conversion in a map index does not allocate
}

// underscoreDropped reports whether the header name k is dropped for its
// '_' (it has one and is not allowed).
func (f *forwarding) underscoreDropped(k string) bool {
	if strings.IndexByte(k, '_') < 0 {
		return false
	}
	if len(f.underscore) == 0 {
		return true
	}
	return !f.underscore[strings.ToLower(k)]
}

// outbound removes from an outbound header what the upstream must not
// receive: dropped '_' names and the configured strip list. (The built-in
// client-identity list is stripProxyHeaders'.) From a trusted proxy the
// canonical spelling of a strip-list header is kept, as for the built-in
// list: it is the proxy's statement.
func (f *forwarding) outbound(h http.Header, trusted bool) {
	for k := range h {
		if f.underscoreDropped(k) {
			delete(h, k)
			continue
		}
		if f.stripped(k) && !(trusted && strings.IndexByte(k, '_') < 0) {
			delete(h, k)
		}
	}
}

// portAllowed reports whether a validated host's port may be forwarded:
// none, the port of the listener the request arrived on, a configured
// public port, or the port a trusted proxy stated (fact Port, when the
// request came through one). The port must be in canonical decimal form
// ("08443" is refused): the upstream builds URLs from the text.
func (f *forwarding) portAllowed(r *http.Request, host string, facts trustedproxy.Facts) bool {
	p := validatedHostPort(host)
	if p == "" {
		return !strings.HasSuffix(host, ":") // "site.test:" names no port the gateway serves
	}
	n, ok := canonicalPort(p)
	if !ok {
		return false
	}
	if f.publicPorts[n] {
		return true
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := a.(*net.TCPAddr); ok && ta.Port == n {
			return true
		}
	}
	return facts.ViaProxy && facts.Port == p
}

// canonicalPort parses a port in canonical decimal form: 1 to 65535,
// digits only, no leading zero (what strconv.Itoa would print back).
func canonicalPort(p string) (int, bool) {
	if len(p) == 0 || len(p) > 5 || p[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// canonicalizer is the handler described at the top of this file.
type canonicalizer struct {
	next   http.Handler
	fw     *forwarding
	events *slog.Logger // refusals (counted)
	logger *slog.Logger // header_dropped (not a refusal)
	tp     *trustedproxy.Resolver
}

func (c *canonicalizer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		switch v := framingVerdictOf(r); v {
		case "":
		case framingUnknown:
			// The framing watcher lost track of this connection: answer
			// this request, then end the connection rather than read
			// another one from it.
			w.Header().Set("Connection", "close")
		default:
			c.refuse(w, r, "header_refused", string(v), "")
			return
		}
	}
	dropped := false
	for k, vs := range r.Header {
		if len(vs) > 1 && isSingleton(k) {
			c.refuse(w, r, "header_refused", "duplicate_header", k)
			return
		}
		if strings.IndexByte(k, '_') < 0 {
			continue
		}
		if c.fw.underscoreDropped(k) {
			dropped = true
		} else if _, twin := r.Header[http.CanonicalHeaderKey(strings.ReplaceAll(k, "_", "-"))]; twin {
			// An allowed '_' name and its '-' spelling: a WSGI server
			// makes one variable of both (joined with ","), so the app
			// would read neither value as sent.
			c.refuse(w, r, "header_refused", "duplicate_header", k)
			return
		}
	}
	if r.ProtoMajor >= 2 {
		// net/http takes r.Host from :authority and leaves a host field
		// of the header block in r.Header. RFC 9113 section 8.3.1 lets a
		// client send both only when they agree; the gateway validates
		// r.Host, so a different host header must not travel on.
		if hv, ok := r.Header["Host"]; ok && (len(hv) != 1 || !strings.EqualFold(hv[0], r.Host)) {
			c.refuse(w, r, "header_refused", "host_mismatch", "")
			return
		}
	}
	p, reason := canonicalPath(r.URL.Path, r.URL.RawPath, r.URL.Opaque)
	if reason != "" {
		c.refuse(w, r, "path_refused", reason, "")
		return
	}
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// Every HTTP/1 request with a chunked body ends its connection.
		// On the gateway's listeners, one that also had Content-Length
		// was refused above (see framing.go); this also covers a gateway
		// embedded through ServeHTTP, where net/http, which deletes
		// Content-Length before a handler runs, leaves the two
		// indistinguishable (RFC 9112 section 6.3 then requires the
		// close). And the framing watcher does not follow a chunked body.
		// Browsers do not send chunked requests, so this costs only tools
		// a new connection. (HTTP/2 has no Transfer-Encoding: net/http
		// refuses it there.)
		w.Header().Set("Connection", "close")
	}
	if dropped {
		c.logDropped(r)
	}
	if p != r.URL.Path || r.URL.RawPath != "" {
		r = withPath(r, p)
	}
	c.next.ServeHTTP(w, r)
}

// withPath returns a shallow copy of r whose URL has the canonical path p
// and its canonical escaping (the handler must not change the request it
// was given).
func withPath(r *http.Request, p string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}

// canonicalPath returns the canonical form of a request path (decoded
// path, raw path as sent when its escaping is not the default one), or
// the reason to refuse it:
//
//   - not_absolute: not starting with "/" (an opaque URL; net/http
//     answers "OPTIONS *" itself, without a handler);
//   - encoded_slash: %2F or %5C, which one server decodes into a
//     separator and another keeps as a byte of a segment;
//   - backslash: Windows-minded servers and some routers treat '\' as '/';
//   - control_byte: NUL or another C0 control or DEL, which servers
//     truncate at or reject differently;
//   - dot_segment: a "." or ".." segment, which a router that cleans paths
//     (Go) and one that does not (Django under gunicorn) route differently.
//
// Doubled slashes are merged: "//upload//a" is "/upload/a" for the layers
// and for the upstream alike (a Go router would redirect it, Django routes
// it to a different, usually missing, view; either way the merged path is
// what a user meant). Browsers resolve dot segments and never send the
// rest, so no page breaks.
func canonicalPath(path, raw, opaque string) (string, string) {
	if opaque != "" || !strings.HasPrefix(path, "/") {
		return "", "not_absolute"
	}
	if raw != "" {
		for i := 0; i+2 < len(raw); i++ {
			if raw[i] != '%' {
				continue
			}
			if h, l := raw[i+1], raw[i+2]|0x20; (h == '2' && l == 'f') || (h == '5' && l == 'c') {
				return "", "encoded_slash"
			}
		}
	}
	doubled := false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c < 0x20 || c == 0x7f:
			return "", "control_byte"
		case c == '\\':
			return "", "backslash"
		case c == '/' && i > 0 && path[i-1] == '/':
			doubled = true
		}
	}
	if hasDotSegment(path) {
		return "", "dot_segment"
	}
	if !doubled {
		return path, ""
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		if path[i] == '/' && i > 0 && path[i-1] == '/' {
			continue
		}
		b.WriteByte(path[i])
	}
	return b.String(), ""
}

// refuse answers 400 with one refusal event. detail, a header name, is
// attacker text: quoted and bounded. The resolver runs first, so that the
// event names the client behind a trusted proxy (and a malformed forwarded
// header is refused as such).
func (c *canonicalizer) refuse(w http.ResponseWriter, r *http.Request, event, reason, detail string) {
	if r.ProtoMajor == 1 {
		// The framing of what follows on this connection is not to be
		// trusted either.
		w.Header().Set("Connection", "close")
	}
	var refuse http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if detail != "" {
			refusal.Log(c.events, r, "request refused", event, reason, refusal.Detail(detail))
		} else {
			refusal.Log(c.events, r, "request refused", event, reason)
		}
		writeStatus(w, http.StatusBadRequest)
	})
	if c.tp != nil {
		refuse = c.tp.Handler(refuse)
	}
	refuse.ServeHTTP(w, r)
}

// logDropped logs the header names rewrite will drop for their '_' (one
// event per request, the names quoted and bounded). It is not a refusal:
// the request goes on without them.
func (c *canonicalizer) logDropped(r *http.Request) {
	var names []string
	for k := range r.Header {
		if c.fw.underscoreDropped(k) && len(names) < 8 {
			names = append(names, refusal.Truncate(k, 64))
		}
	}
	ip := ""
	if f := resolveFacts(c.tp, r); f.ClientIP.IsValid() {
		ip = f.ClientIP.String()
	}
	c.logger.LogAttrs(r.Context(), slog.LevelInfo, "header dropped",
		slog.String("event", "header_dropped"),
		slog.String("reason", "underscore_name"),
		slog.String("client_ip", ip),
		slog.String("host", refusal.Host(r)),
		slog.String("method", refusal.Truncate(r.Method, refusal.MaxMethod)),
		slog.String("path", refusal.Path(r)),
		refusal.Detail(strings.Join(names, ",")))
}
