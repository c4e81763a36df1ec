package trustedproxy

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// Facts are what a Resolver establishes about a request: who the client
// is and which scheme, host and port it used.
//
// The chain keeps them in the request's per-request record (created once
// at the top of the chain, written here and nowhere else); handlers read
// them through the accessors of this package (ClientIP, Scheme, IsSecure,
// Host, Port, FactsOf) and the validated host through hosts.Host, never by
// parsing headers themselves. A Facts value is a copy: changing it changes
// nothing for the request.
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
}

// FactsOf returns the facts of r as the chain established them, or, when
// no Resolver ran, the facts of the connection alone, trusting no header:
// the client is the TCP peer, the scheme is https when r.TLS is set, the
// host is r.Host, and the port is the local listener's port.
func FactsOf(r *http.Request) Facts {
	if c, ok := reqstate.From(r).Conn(); ok {
		return Facts(c)
	}
	return direct(r)
}

func direct(r *http.Request) Facts {
	peer := peerAddr(r.RemoteAddr)
	return Facts{ClientIP: peer, Peer: peer, Scheme: connScheme(r), Host: r.Host, Port: localPort(r)}
}

// ClientIP returns the client address established by the chain, or the TCP
// peer's address when no Bulwark layer ran. The zero Addr means RemoteAddr
// was not an IP address (a test request, a Unix socket).
func ClientIP(r *http.Request) netip.Addr { return reqstate.ClientIP(r) }

// Scheme returns "https" or "http": as established by the chain, or from
// the connection (r.TLS) when no Bulwark layer ran.
func Scheme(r *http.Request) string {
	if c, ok := reqstate.From(r).Conn(); ok {
		return c.Scheme
	}
	return connScheme(r)
}

// IsSecure reports whether the request arrived over HTTPS (Scheme is https).
func IsSecure(r *http.Request) bool { return Scheme(r) == "https" }

// Host returns the raw, unvalidated host of the request: as established by
// the chain, or r.Host. Use hosts.Host for a validated host.
func Host(r *http.Request) string {
	if c, ok := reqstate.From(r).Conn(); ok {
		return c.Host
	}
	return r.Host
}

// Port returns the request's port as established by the chain, or the
// local listener's port; empty when unknown.
func Port(r *http.Request) string {
	if c, ok := reqstate.From(r).Conn(); ok {
		return c.Port
	}
	return localPort(r)
}

func connScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func peerAddr(remote string) netip.Addr { return reqstate.PeerAddr(remote) }

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
