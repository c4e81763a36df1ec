// Package trustedproxy establishes who a request comes from and how it was
// made (client address, scheme, host, port) when the server sits behind
// reverse proxies, and records those facts in the request context for
// every other Bulwark layer.
//
// It is the counterpart of Django's SECURE_PROXY_SSL_HEADER,
// USE_X_FORWARDED_HOST and USE_X_FORWARDED_PORT, with one difference that
// matters: forwarded headers count only when the TCP peer is a configured
// proxy.
//
//	tp, err := trustedproxy.New(trustedproxy.Config{
//		Trusted:        []string{"10.1.0.0/16"},
//		SSLHeader:      "X-Forwarded-Proto",
//		SSLHeaderValue: "https",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(addr, tp.Handler(app))
//
// Handlers then read trustedproxy.ClientIP(r), Scheme(r), IsSecure(r),
// Host(r) and Port(r), and package hosts validates the host.
//
// # How a request is read
//
// From a peer outside Config.Trusted, every forwarded header is ignored:
// the client is the peer, the scheme is https exactly when the connection
// is TLS, the host is r.Host and the port the listener's.
//
// From a trusted peer:
//
//   - The client chain (X-Forwarded-For, or RFC 7239 Forwarded per
//     Config.ClientHeader; duplicate header lines are read in order, as one
//     list) is walked from the right. Trusted hops are skipped; the client
//     is the first untrusted address, or the leftmost if every hop is
//     trusted. Only the proxies' own entries are believed: what a client
//     writes at the left end of the list can only end up as its own,
//     untrusted, address. IPv4-mapped addresses are unmapped before they
//     are compared or returned. A Forwarded element whose for= is
//     "unknown", obfuscated ("_hidden") or absent is an untrusted hop with
//     no address (ClientIP is then the zero Addr).
//   - The scheme comes from Config.SSLHeader with Django's exact semantics
//     (first comma-separated value, trimmed, compared case-sensitively; a
//     present header overrides the transport in both directions), else
//     from the client element's proto= when the chain header is
//     Forwarded, else from the connection.
//   - With UseForwardedHost the host is X-Forwarded-Host verbatim (or the
//     client element's host= with Forwarded); with UseForwardedPort the
//     port is X-Forwarded-Port.
//
// # Malformed headers fail closed
//
// A forwarded header from a trusted proxy that cannot be read safely is
// never guessed at: Handler answers 400 Bad Request (body: the status
// text) and logs one "forwarded_malformed" event with the reason; Check
// and Resolver.Facts return a *MalformedError wrapping ErrMalformed. This
// covers an X-Forwarded-For hop that is not an IP address (or is empty)
// between the proxy and the client, an address with a zone, any Forwarded
// header that is not strict RFC 7239 syntax (Forwarded is parsed in full:
// a quoted string may hold a comma, so element boundaries in a broken
// header are ambiguous), a duplicated Forwarded parameter, an
// X-Forwarded-Port that is not a port in 1..65535, and any forwarded
// header over MaxHeaderBytes (8 KiB) or chain over MaxHops (64)
// elements. X-Forwarded-For entries left of the client are not read.
//
// The request is never modified: RemoteAddr stays the peer's address and
// the facts travel in the request's per-request record, a context node
// created once at the top of the chain (by this Handler when it is the
// first Bulwark layer: two allocations, the node and the request copy,
// shared by every later layer). Only this package writes the facts there;
// other layers and applications read them through ClientIP, Scheme,
// IsSecure, Host, Port and FactsOf.
//
// # Threat model
//
// It stops a client that talks to the server directly (or through an
// untrusted hop) from choosing its apparent address, scheme, host or port
// with X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host,
// X-Forwarded-Port, Forwarded or any configured header: rate limits, audit
// logs, HTTPS redirects, HSTS, secure cookies and CSRF's Referer check
// then rest on facts an attacker cannot forge. Header-name tricks such as
// X_Forwarded_Proto are not aliases here (Go does not fold "_" into "-"),
// and Config refuses SSL header names with "_".
//
// It does not stop:
//
//   - a trusted proxy that passes client-supplied headers through. Each
//     proxy must strip or overwrite the SSL, host and port headers and
//     append (not copy) the client chain; Django's documentation for
//     SECURE_PROXY_SSL_HEADER gives the same warning. List only proxies
//     you operate.
//   - an attacker inside a trusted network, who can speak as a proxy.
//     Keep Trusted as narrow as the deployment allows ("private" trusts
//     every RFC 1918 host).
//   - spoofed addresses left of the first untrusted hop: they are the
//     client's own words and are reported as nothing at all.
//   - host header attacks: the forwarded host is raw input. Package hosts
//     validates it.
//
// A trusted peer is matched by its IP address only; a Unix-socket peer has
// none and is never trusted.
//
// Proxy mistakes otherwise fail silently (every request looks like http,
// the HTTPS redirect loops, CSRF skips its Referer check), so the Resolver
// says when it sees their signature, once per Resolver, at Warn: an
// untrusted peer sending the headers it is configured to read
// ("forwarded_untrusted_peer": a proxy missing from Trusted, or a spoofing
// client), and a trusted proxy sending no SSL header
// ("forwarded_header_missing"). Config also refuses proxy options without
// any trusted network.
package trustedproxy
