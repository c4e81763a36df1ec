package trustedproxy

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
)

// Facts are what the chain has established about a request: who the client
// is, which scheme and host it used, and whether the host was validated.
//
// One *Facts is attached to the request context by the first Bulwark layer
// that needs it (normally the trustedproxy handler) and later layers fill in
// their part, so the whole chain costs a single context allocation. Facts are
// per request; handlers read them through the accessors of this package and
// of package hosts, never by parsing headers themselves.
type Facts struct {
	// ClientIP is the address of the client: the peer itself, or, when the
	// peer is a trusted proxy, the rightmost untrusted address of the
	// forwarding chain. Unmapped (v4-mapped IPv6 folded) and without zone.
	// The zero Addr means the client has no address: RemoteAddr was not an
	// IP address (a Unix socket, a test request), or the client's hop in
	// an RFC 7239 Forwarded chain was "unknown" or obfuscated.
	ClientIP netip.Addr
	// Peer is the address of the TCP peer (from RemoteAddr), unmapped.
	Peer netip.Addr
	// Scheme is "https" or "http".
	Scheme string
	// Host is the raw, unvalidated host the client asked for, as Django's
	// _get_raw_host gives it: r.Host (the Host header, or the host of an
	// absolute-form request target), or, from a trusted proxy with
	// Config.UseForwardedHost, X-Forwarded-Host or the Forwarded host=
	// parameter. It may carry a port; it may be empty or invalid.
	Host string
	// Port is the port of the request as Django's get_port gives it: the
	// listener's port, or X-Forwarded-Port from a trusted proxy when
	// enabled. Empty when unknown.
	Port string
	// ViaProxy is true when the peer is a trusted proxy and forwarded
	// information was used.
	ViaProxy bool

	// HostChecked is set by package hosts once Host has been validated
	// against the allow-list; AllowedHost is then the validated host.
	HostChecked bool
	// AllowedHost is the validated host (only meaningful with HostChecked).
	AllowedHost string

	// slots hold the per-request state of later layers (see Slot), so
	// that they need no context value, and no request copy, of their own.
	slots [numSlots]any
	// value backs the header value of SlotHTTPSOnly (see HeaderValue).
	value [1]string
}

// Slot names the per-request state one Bulwark package keeps in the Facts
// instead of in a context value of its own. Each slot is owned by the
// package it is named after: only that package stores in it, and only it
// knows the dynamic type of what it stores. Packages still work without
// Facts (they fall back to a context value of their own).
type Slot uint8

// The slots, one per owning package.
const (
	SlotHTTPSOnly Slot = iota // package httpsonly
	SlotLimits                // package limits
	SlotSession               // package session
	SlotCSRF                  // package csrf
	numSlots
)

// Slot returns what the owning package stored in slot s (nil when
// nothing was).
func (f *Facts) Slot(s Slot) any { return f.slots[s] }

// SetSlot stores v in slot s. Only the package owning s may call it, and
// only before it hands the request on: the Facts are shared by every copy
// of the request, so what is stored stays visible to the rest of the
// chain (and to any later copy), which is the point.
func (f *Facts) SetSlot(s Slot, v any) { f.slots[s] = v }

// HeaderValue returns a one-element header value slice holding v, for the
// package owning slot s to set a header. For SlotHTTPSOnly (the HSTS
// header, on every secure response) it is backed by the Facts, so it costs
// no allocation, and each call reuses that backing; for any other slot it
// is a new slice. Its capacity is 1, so a handler's Header().Add copies
// it; an in-place edit by a handler changes this request's response only
// (the backing belongs to this request), unlike a shared precomputed slice
// would.
func (f *Facts) HeaderValue(s Slot, v string) []string {
	if s != SlotHTTPSOnly {
		return []string{v}
	}
	f.value[0] = v
	return f.value[:1:1]
}

type factsKey struct{}

// WithFacts returns a shallow copy of r carrying f. The original request is
// not modified. When r already carries facts, f inherits their slots (see
// Slot) unless it has slots of its own, so layers that ran before keep
// their state visible.
func WithFacts(r *http.Request, f *Facts) *http.Request {
	if old, ok := FactsFrom(r); ok && f.slots == ([numSlots]any{}) {
		f.slots = old.slots
	}
	return r.WithContext(context.WithValue(r.Context(), factsKey{}, f))
}

// factsContext is a context node that holds the Facts inline, so attaching
// facts to a request costs one allocation for both (plus the shallow copy
// of the request) instead of one for the Facts and one for the node.
type factsContext struct {
	context.Context
	facts Facts
}

func (c *factsContext) Value(key any) any {
	if _, ok := key.(factsKey); ok {
		return &c.facts
	}
	return c.Context.Value(key)
}

func (c *factsContext) String() string { return "trustedproxy.Facts" }

// attach returns a shallow copy of r carrying new, zero Facts, and those
// Facts for the caller to fill. New facts inherit the slots of facts
// already attached (a second resolver in the chain), so state kept by
// layers in front stays visible behind it.
func attach(r *http.Request) (*http.Request, *Facts) {
	c := &factsContext{Context: r.Context()}
	if old, ok := FactsFrom(r); ok {
		c.facts.slots = old.slots
	}
	return r.WithContext(c), &c.facts
}

// FactsFrom returns the facts attached to r by a Bulwark layer, if any.
func FactsFrom(r *http.Request) (*Facts, bool) {
	f, ok := r.Context().Value(factsKey{}).(*Facts)
	return f, ok
}

// Ensure returns r and its facts, attaching facts derived from the
// connection alone (see Direct) when no layer has done so yet. Layers that
// need facts but may run without the trustedproxy handler in front call it.
func Ensure(r *http.Request) (*http.Request, *Facts) {
	if f, ok := FactsFrom(r); ok {
		return r, f
	}
	r2, f := attach(r)
	Direct(r, f)
	return r2, f
}

// Direct fills f from the connection alone, trusting no header: the client
// is the TCP peer, the scheme is https when r.TLS is set, the host is
// r.Host, and the port is the local listener's port. The slots of f (see
// Slot) are kept.
func Direct(r *http.Request, f *Facts) {
	peer := peerAddr(r.RemoteAddr)
	slots := f.slots
	*f = Facts{ClientIP: peer, Peer: peer, Scheme: connScheme(r), Host: r.Host, Port: localPort(r), slots: slots}
}

// ClientIP returns the client address established by the chain, or the TCP
// peer's address when no Bulwark layer ran. The zero Addr means RemoteAddr
// was not an IP address (a test request, a Unix socket).
func ClientIP(r *http.Request) netip.Addr {
	if f, ok := FactsFrom(r); ok {
		return f.ClientIP
	}
	return peerAddr(r.RemoteAddr)
}

// Scheme returns "https" or "http": as established by the chain, or from
// the connection (r.TLS) when no Bulwark layer ran.
func Scheme(r *http.Request) string {
	if f, ok := FactsFrom(r); ok {
		return f.Scheme
	}
	return connScheme(r)
}

// IsSecure reports whether the request arrived over HTTPS (Scheme is https).
func IsSecure(r *http.Request) bool { return Scheme(r) == "https" }

// Host returns the raw, unvalidated host of the request: as established by
// the chain, or r.Host. Use hosts.Host for a validated host.
func Host(r *http.Request) string {
	if f, ok := FactsFrom(r); ok {
		return f.Host
	}
	return r.Host
}

// Port returns the request's port as established by the chain, or the
// local listener's port; empty when unknown.
func Port(r *http.Request) string {
	if f, ok := FactsFrom(r); ok {
		return f.Port
	}
	return localPort(r)
}

func connScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// peerAddr parses RemoteAddr ("ip:port", "[ip%zone]:port" or a bare IP) and
// unmaps v4-mapped addresses. The zone is dropped: it is a property of the
// local interface, not of the client.
func peerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func localPort(r *http.Request) string {
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := a.(*net.TCPAddr); ok {
			return itoa(ta.Port)
		}
		if _, p, err := net.SplitHostPort(a.String()); err == nil {
			return p
		}
	}
	return ""
}

// portStrings caches the decimal form of the listener ports seen, so that
// Facts.Port costs no allocation per request: a server has a handful of
// listeners. Copy on write, bounded; lookups take no lock.
var portStrings atomic.Pointer[[]portString]

type portString struct {
	n int
	s string
}

const maxCachedPorts = 16

func itoa(n int) string {
	if c := portStrings.Load(); c != nil {
		for _, e := range *c {
			if e.n == n {
				return e.s
			}
		}
	}
	s := strconv.Itoa(n)
	old := portStrings.Load()
	var next []portString
	if old != nil {
		if len(*old) >= maxCachedPorts {
			return s
		}
		next = append(next, *old...)
	}
	next = append(next, portString{n, s})
	// A lost race only costs a later miss.
	portStrings.CompareAndSwap(old, &next)
	return s
}
