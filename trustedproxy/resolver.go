package trustedproxy

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// Resolver establishes the Facts of each request from its connection and,
// when the TCP peer is a trusted proxy, from the forwarded headers that
// proxy sent. Build it with New; it is immutable and safe for concurrent
// use.
type Resolver struct {
	c *compiled
	// warned is set once the untrusted-peer warning has been logged,
	// warnedMissing once the missing-SSL-header warning has.
	warned, warnedMissing atomic.Bool
}

// New validates c and returns a Resolver for it. The error wraps ErrConfig
// and names the offending entry.
func New(c Config) (*Resolver, error) {
	cc, err := c.compile()
	if err != nil {
		return nil, err
	}
	return &Resolver{c: cc}, nil
}

// IsTrusted reports whether a is in a trusted network. IPv4-mapped
// addresses are unmapped first; an invalid address or one with a zone is
// never trusted.
func (p *Resolver) IsTrusted(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	for _, pf := range p.c.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// Facts computes the facts of r without attaching them. The error, when
// not nil, wraps ErrMalformed (a *MalformedError): a trusted proxy sent a
// forwarded header that cannot be read, and the request must be refused.
func (p *Resolver) Facts(r *http.Request) (Facts, error) {
	var f Facts
	if err := p.fill(r, &f); err != nil {
		return Facts{}, err
	}
	return f, nil
}

// Check reports whether the forwarded headers of r can be read: nil, or an
// error wrapping ErrMalformed. Requests from untrusted peers always pass,
// since their forwarded headers are ignored.
func (p *Resolver) Check(r *http.Request) error {
	var f Facts
	if err := p.fill(r, &f); err != nil {
		return err
	}
	return nil
}

// Handler returns a handler that records the request's Facts in its
// per-request record (attaching one to a shallow copy of r when no layer
// in front did) and calls next with it. A request whose trusted proxy sent
// a malformed forwarded header is refused with 400 Bad Request (body: the
// status text) and one "forwarded_malformed" refusal event naming the
// reason, its facts those of the connection alone; next is not called. r
// itself, RemoteAddr included, is never modified.
func (p *Resolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, rec := reqstate.Ensure(r)
		var f Facts
		if err := p.fill(r, &f); err != nil {
			reqstate.SetConn(rec, reqstate.Conn(direct(r)))
			p.refuse(w, r, err)
			return
		}
		reqstate.SetConn(rec, reqstate.Conn(f))
		next.ServeHTTP(w, r)
	})
}

func (p *Resolver) refuse(w http.ResponseWriter, r *http.Request, err *MalformedError) {
	refusal.Log(p.c.logger, r, "forwarded header refused", "forwarded_malformed", err.Reason,
		slog.String("header", err.Header))
	http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
}

// fill computes the facts of r into f. It reads r and never writes it.
func (p *Resolver) fill(r *http.Request, f *Facts) *MalformedError {
	*f = direct(r)
	if !p.IsTrusted(f.Peer) {
		// Forwarded headers from anyone but a configured proxy are the
		// client's own words: ignore them entirely, so that a direct client
		// cannot choose its address, scheme or host.
		p.warnUntrusted(r, f.Peer)
		return nil
	}
	f.ViaProxy = true
	fwd, err := p.fillClient(r, f)
	if err == nil {
		err = p.fillScheme(r, f, fwd)
	}
	if err == nil {
		err = p.fillHost(r, f, fwd)
	}
	if err == nil {
		err = p.fillPort(r, f)
	}
	return err
}

// fillClient sets the client address from the forwarding chain the
// Resolver reads, and returns the client's Forwarded element (zero with
// X-Forwarded-For), whose proto= and host= the later steps read.
func (p *Resolver) fillClient(r *http.Request, f *Facts) (fwdElem, *MalformedError) {
	switch p.c.chain {
	case chainXFF:
		if lines := r.Header[HeaderXForwardedFor]; len(lines) > 0 {
			a, err := walkXFF(lines, p)
			if err != nil {
				return fwdElem{}, err
			}
			f.ClientIP = a
		}
	case chainForwarded:
		if lines := r.Header[HeaderForwarded]; len(lines) > 0 {
			e, err := p.walkForwarded(lines)
			if err != nil {
				return fwdElem{}, err
			}
			f.ClientIP = netip.Addr{}
			if e.forKind == nodeAddr {
				f.ClientIP = e.forAddr
			}
			return e, nil
		}
	}
	return fwdElem{}, nil
}

// fillScheme sets the scheme: the SSL header when present (Django's
// semantics: it overrides the transport both ways), else Forwarded
// proto=, else the connection's.
func (p *Resolver) fillScheme(r *http.Request, f *Facts, fwd fwdElem) *MalformedError {
	c := p.c
	vals, ok := r.Header[c.sslHeader]
	if !ok || c.sslHeader == "" {
		if c.sslHeader != "" && !fwd.hasProto {
			p.warnMissing(r, f.Peer)
		}
		if fwd.hasProto {
			f.Scheme = schemeOf(strings.EqualFold(fwd.proto, "https"))
		}
		return nil
	}
	if err := checkSize(c.sslHeader, vals); err != nil {
		return err
	}
	first := ""
	if len(vals) > 0 {
		first = vals[0]
	}
	if i := strings.IndexByte(first, ','); i >= 0 {
		first = first[:i]
	}
	f.Scheme = schemeOf(strings.Trim(first, " \t") == c.sslValue)
	return nil
}

func schemeOf(secure bool) string {
	if secure {
		return "https"
	}
	return "http"
}

// fillHost sets the host from Forwarded host= or X-Forwarded-Host, when
// the Resolver reads them.
func (p *Resolver) fillHost(r *http.Request, f *Facts, fwd fwdElem) *MalformedError {
	if !p.c.fwdHost {
		return nil
	}
	if p.c.chain == chainForwarded {
		if fwd.hasHost {
			f.Host = fwd.host
		}
		return nil
	}
	vals, ok := r.Header["X-Forwarded-Host"]
	if !ok {
		return nil
	}
	if err := checkSize("X-Forwarded-Host", vals); err != nil {
		return err
	}
	// Verbatim, as Django: several lines are joined as a WSGI server
	// would, which makes an invalid host for package hosts to refuse
	// rather than a choice made here.
	switch len(vals) {
	case 0:
		f.Host = ""
	case 1:
		f.Host = vals[0]
	default:
		f.Host = strings.Join(vals, ",")
	}
	return nil
}

// fillPort sets the port from X-Forwarded-Port, when the Resolver reads
// it; anything but one port in 1..65535 is malformed.
func (p *Resolver) fillPort(r *http.Request, f *Facts) *MalformedError {
	if !p.c.fwdPort {
		return nil
	}
	vals, ok := r.Header["X-Forwarded-Port"]
	if !ok {
		return nil
	}
	if len(vals) != 1 || !validPort(vals[0]) {
		return malformed("X-Forwarded-Port", ReasonInvalidPort, strings.Join(vals, ","))
	}
	f.Port = vals[0]
	return nil
}

// walkXFF returns the client address of an X-Forwarded-For chain: walking
// from the right over all lines, trusted hops are skipped and the first
// untrusted address is the client; if every hop is trusted, the leftmost.
// Elements left of the client are not read: they were written by the
// client or by proxies nobody vouches for, so they can neither help nor be
// held against the request.
func walkXFF(lines []string, p *Resolver) (netip.Addr, *MalformedError) {
	if err := checkSize(HeaderXForwardedFor, lines); err != nil {
		return netip.Addr{}, err
	}
	hops := 0
	for _, l := range lines {
		hops += strings.Count(l, ",") + 1
	}
	if hops > MaxHops {
		return netip.Addr{}, malformed(HeaderXForwardedFor, ReasonTooManyHops, "")
	}
	var last netip.Addr
	for i := len(lines) - 1; i >= 0; i-- {
		rest := lines[i]
		for {
			elem := rest
			j := strings.LastIndexByte(rest, ',')
			if j >= 0 {
				elem = rest[j+1:]
			}
			a, err := parseXFFElem(elem)
			if err != nil {
				return netip.Addr{}, err
			}
			if !p.IsTrusted(a) {
				return a, nil
			}
			last = a
			if j < 0 {
				break
			}
			rest = rest[:j]
		}
	}
	return last, nil
}

// parseXFFElem parses one X-Forwarded-For element: an IP address, with or
// without a port ("192.0.2.1:4711", "[2001:db8::1]:4711", "[2001:db8::1]"),
// surrounded by optional whitespace.
func parseXFFElem(s string) (netip.Addr, *MalformedError) {
	s = strings.Trim(s, " \t")
	if s == "" {
		return netip.Addr{}, malformed(HeaderXForwardedFor, ReasonEmpty, "")
	}
	if strings.IndexByte(s, '%') >= 0 {
		// A zone is a property of the sender's interface: meaningless
		// here, and a way to make one address compare unequal to itself.
		return netip.Addr{}, malformed(HeaderXForwardedFor, ReasonZone, s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(s); err2 == nil {
			a = ap.Addr()
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
			if err != nil || !a.Is6() {
				return netip.Addr{}, malformed(HeaderXForwardedFor, ReasonInvalidAddress, s)
			}
		} else {
			return netip.Addr{}, malformed(HeaderXForwardedFor, ReasonInvalidAddress, s)
		}
	}
	return a.Unmap(), nil
}

// walkForwarded parses every element of a Forwarded chain (the syntax must
// be valid throughout, see forwarded.go) and returns the client's element:
// the last untrusted one in left-to-right order, which is the first met
// walking from the right, or the first element when all are trusted. An
// element without for=, or with an obfuscated or unknown node, is
// untrusted.
func (p *Resolver) walkForwarded(lines []string) (fwdElem, *MalformedError) {
	if err := checkSize(HeaderForwarded, lines); err != nil {
		return fwdElem{}, err
	}
	var first, client fwdElem
	n, found := 0, false
	for _, line := range lines {
		ps := fwdParser{s: line}
		if ps.skipOWS(); ps.done() {
			return fwdElem{}, malformed(HeaderForwarded, ReasonEmpty, "")
		}
		for !ps.done() {
			e, err := ps.next()
			if err != nil {
				return fwdElem{}, err
			}
			if n++; n > MaxHops {
				return fwdElem{}, malformed(HeaderForwarded, ReasonTooManyHops, "")
			}
			if n == 1 {
				first = e
			}
			if e.forKind != nodeAddr || !p.IsTrusted(e.forAddr) {
				client, found = e, true
			}
		}
	}
	if !found {
		return first, nil
	}
	return client, nil
}

func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n >= 1 && n <= 65535
}

// warnUntrusted logs, once per Resolver, a request from an untrusted peer
// that carries the forwarded headers this Resolver is configured to read.
// That is what a proxy missing from Trusted looks like, a mistake that
// otherwise fails silently (every request seems to be http, the redirect
// loops, CSRF skips its Referer check). A client spoofing the headers
// looks the same, so this is a warning, not a refusal.
func (p *Resolver) warnUntrusted(r *http.Request, peer netip.Addr) {
	if len(p.c.prefixes) == 0 || p.warned.Load() {
		return
	}
	for _, k := range p.c.headerKeys {
		if _, ok := r.Header[k]; ok {
			if p.warned.Swap(true) {
				return
			}
			p.c.logger.LogAttrs(r.Context(), slog.LevelWarn, "forwarded headers from an untrusted peer ignored (is a proxy missing from trusted?)",
				slog.String("event", "forwarded_untrusted_peer"),
				slog.String("header", k),
				slog.String("client_ip", peer.String()),
			)
			return
		}
	}
}

// warnMissing logs, once per Resolver, a request from a trusted proxy
// without the configured SSL header. Its scheme then falls back to the
// connection, as in Django; if the proxy terminates TLS, that is "http"
// for every request, which is how redirect loops and a skipped CSRF
// Referer check start.
func (p *Resolver) warnMissing(r *http.Request, peer netip.Addr) {
	if p.warnedMissing.Load() || p.warnedMissing.Swap(true) {
		return
	}
	p.c.logger.LogAttrs(r.Context(), slog.LevelWarn, "trusted proxy sent no SSL header; scheme taken from the connection",
		slog.String("event", "forwarded_header_missing"),
		slog.String("header", p.c.sslHeader),
		slog.String("client_ip", peer.String()),
	)
}
