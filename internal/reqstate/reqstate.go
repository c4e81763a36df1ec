// Package reqstate holds the one per-request record of the Bulwark chain:
// what the layers have established about a request (the connection facts,
// the validated host) and the per-request state of the layers that keep
// one (the HSTS value, the limits, the session, the CSRF state).
//
// The record is created once, at the top of the chain (Attach), in a
// context node that holds it inline: one allocation for the node and one
// for the shallow copy of the request, shared by every layer behind it.
// Layers that may run alone call Ensure, which attaches a record only when
// none exists yet.
//
// Each part of the record has one owner, and only the owner writes it:
//
//	part            writer             owner
//	connection      SetConn            package trustedproxy
//	validated host  SetValidatedHost   package hosts
//	HSTS value      HSTS               package httpsonly
//	limits          SetLimits          package limits
//	session state   SetSession         package session
//	CSRF state      SetCSRF            package csrf
//
// The writers are functions of this package, not methods, so that
// internal/archtest can prove with go/ast that no other package calls
// them. Everyone else reads through the accessors (Record.Conn,
// Record.ValidatedHost, ...), and applications through the public
// accessors of the owning packages (trustedproxy.ClientIP, hosts.Host,
// bulwark.ClientIP...). The package is internal: applications cannot
// write the record at all.
//
// A record is per request and is shared by every copy of the request made
// behind the node; writes happen before the writer hands the request on,
// so a layer behind the writer sees them, and the layers in front see them
// after next returns (the gateway's access log reads the final record).
package reqstate

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Conn is the connection part of the record, established by package
// trustedproxy: who the client is and which scheme, host and port it used.
// Package trustedproxy documents each field (trustedproxy.Facts has the
// same fields).
type Conn struct {
	ClientIP netip.Addr
	Peer     netip.Addr
	Scheme   string
	Host     string
	Port     string
	ViaProxy bool
}

// Record is the per-request record. Its zero value is an empty record:
// no connection facts (readers fall back to the connection itself), no
// validated host, no layer state.
type Record struct {
	conn    Conn
	hasConn bool

	host   string // the validated host, when hostOK
	hostOK bool

	hsts [1]string // backs the HSTS header value (see HSTS)

	limits  any
	session any
	csrf    any

	edge any // the gateway's per-request state (see SetEdge)

	id    [16]byte // the request id, when hasID (see SetRequestID)
	hasID bool
}

type key struct{}

// node is a context node holding the record inline: one allocation for
// both.
type node struct {
	context.Context
	rec Record
}

func (n *node) Value(k any) any {
	if _, ok := k.(key); ok {
		return &n.rec
	}
	return n.Context.Value(k)
}

func (n *node) String() string { return "reqstate.Record" }

// From returns the record of r, or nil when no Bulwark layer attached one.
func From(r *http.Request) *Record { return FromContext(r.Context()) }

// FromContext returns the record carried by ctx, or nil.
func FromContext(ctx context.Context) *Record {
	rec, _ := ctx.Value(key{}).(*Record)
	return rec
}

// Attach returns r and its record, attaching a new, empty record to a
// shallow copy of r when r has none. It is what the top of a chain calls;
// r itself is never modified.
func Attach(r *http.Request) (*http.Request, *Record) {
	if rec := From(r); rec != nil {
		return r, rec
	}
	n := &node{Context: r.Context()}
	return r.WithContext(n), &n.rec
}

// Ensure is Attach for layers that may run without the top of the chain in
// front of them.
func Ensure(r *http.Request) (*http.Request, *Record) { return Attach(r) }

// Handler returns next behind a layer that attaches the record: the top
// of a chain.
func Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, _ = Attach(r)
		next.ServeHTTP(w, r)
	})
}

// Conn returns the connection facts and true once package trustedproxy
// established them; the zero Conn and false before. A nil record has none.
func (rec *Record) Conn() (Conn, bool) {
	if rec == nil || !rec.hasConn {
		return Conn{}, false
	}
	return rec.conn, true
}

// ValidatedHost returns the host validated by package hosts, and true; ""
// and false when no hosts layer validated it. A nil record has none.
func (rec *Record) ValidatedHost() (string, bool) {
	if rec == nil || !rec.hostOK {
		return "", false
	}
	return rec.host, true
}

// Limits returns what package limits stored (nil when nothing).
func (rec *Record) Limits() any {
	if rec == nil {
		return nil
	}
	return rec.limits
}

// Session returns what package session stored (nil when nothing).
func (rec *Record) Session() any {
	if rec == nil {
		return nil
	}
	return rec.session
}

// CSRF returns what package csrf stored (nil when nothing).
func (rec *Record) CSRF() any {
	if rec == nil {
		return nil
	}
	return rec.csrf
}

// SetConn records the connection facts. Owner: package trustedproxy. A
// host validated before is forgotten: it was validated against the
// previous facts.
func SetConn(rec *Record, c Conn) {
	rec.conn, rec.hasConn = c, true
	rec.host, rec.hostOK = "", false
}

// SetValidatedHost records host as validated against the allow-list.
// Owner: package hosts.
func SetValidatedHost(rec *Record, host string) {
	rec.host, rec.hostOK = host, true
}

// HSTS returns a one-element header value slice holding v, backed by the
// record, so that setting the header on every secure response costs no
// allocation; each call reuses that backing. Its capacity is 1, so a
// handler's Header().Add copies it; an in-place edit by a handler changes
// this request's response only. Owner: package httpsonly.
func HSTS(rec *Record, v string) []string {
	rec.hsts[0] = v
	return rec.hsts[:1:1]
}

// RequestID returns the request's id and true once the gateway gave it
// one (see SetRequestID); "" and false otherwise. A nil record has none.
// Each call makes the string (one allocation): callers ask once.
func (rec *Record) RequestID() (string, bool) {
	if rec == nil || !rec.hasID {
		return "", false
	}
	return string(rec.id[:]), true
}

// RequestIDBytes is RequestID without the string: the id's 16 characters
// (lower-case hex), and whether the record has one.
func (rec *Record) RequestIDBytes() (id [16]byte, ok bool) {
	if rec == nil || !rec.hasID {
		return id, false
	}
	return rec.id, true
}

// SetRequestID records the request's id: the 16 characters the gateway
// shows on a refusal (X-Request-Id) and writes in the access log and in
// every refusal event of the request. Kept inline, so that giving every
// request an id costs no allocation. Owner: package internal/gateway.
func SetRequestID(rec *Record, id [16]byte) {
	rec.id, rec.hasID = id, true
}

// SetLimits stores the limits state. Owner: package limits.
func SetLimits(rec *Record, v any) { rec.limits = v }

// SetSession stores the session state. Owner: package session.
func SetSession(rec *Record, v any) { rec.session = v }

// SetCSRF stores the CSRF state. Owner: package csrf.
func SetCSRF(rec *Record, v any) { rec.csrf = v }

// SetEdge stores the gateway's per-request state (its response writer),
// which its upstream transport reaches through the request. Owner:
// package internal/gateway.
func SetEdge(rec *Record, v any) { rec.edge = v }

// Edge returns what SetEdge stored (nil when nothing, or for a nil
// record).
func (rec *Record) Edge() any {
	if rec == nil {
		return nil
	}
	return rec.edge
}

// Writers maps each writer of this package to the import path of the
// only package allowed to call it (internal/archtest enforces it).
var Writers = map[string]string{
	"SetConn":          "github.com/bulwarkdev/bulwark/trustedproxy",
	"SetValidatedHost": "github.com/bulwarkdev/bulwark/hosts",
	"HSTS":             "github.com/bulwarkdev/bulwark/httpsonly",
	"SetLimits":        "github.com/bulwarkdev/bulwark/limits",
	"SetSession":       "github.com/bulwarkdev/bulwark/session",
	"SetCSRF":          "github.com/bulwarkdev/bulwark/csrf",
	"SetRequestID":     "github.com/bulwarkdev/bulwark/internal/gateway",
	"SetEdge":          "github.com/bulwarkdev/bulwark/internal/gateway",
}

// ClientIP returns the client address of r: as package trustedproxy
// established it, or the TCP peer's address (see PeerAddr) when it did
// not run. The zero Addr means RemoteAddr was not an IP address.
func ClientIP(r *http.Request) netip.Addr {
	if c, ok := From(r).Conn(); ok {
		return c.ClientIP
	}
	return PeerAddr(r.RemoteAddr)
}

// PeerAddr parses a RemoteAddr ("ip:port", "[ip%zone]:port" or a bare IP)
// and unmaps v4-mapped addresses. The zone is dropped: it is a property of
// the local interface, not of the client. The zero Addr when remote holds
// no IP address.
func PeerAddr(remote string) netip.Addr {
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
