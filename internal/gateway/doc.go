// Package gateway assembles "bulwark serve": a TLS-terminating reverse
// proxy that applies Bulwark's protections in front of any upstream app
// (typically Django behind gunicorn on loopback).
//
// One Config (the TOML file of "bulwark serve", loaded strictly by Load)
// holds the library sections the edge runs, each of the library's own
// type ([proxy], [hosts], [https], [headers], [[rate_limit]], [limits],
// [media], [signing]), whose keys mean what they mean to an application,
// and the server's own sections ([listen], [tls], [upstream], [timeouts],
// [edge], [access_log], [forwarding], [cluster], [buffering], [health],
// [pages]). The protections the gateway shares with applications are the
// library's chain, built by bulwark.New from those sections
// (Config.Library): one implementation, one set of defaults. New builds a
// Gateway; Serve (or Run) accepts connections until its context is done;
// Reload swaps in a new handler tree built from a new Config.
//
// The upstream owns its state, so two sections are narrower at the edge,
// the gateway's own types holding only the keys it runs: [csrf]
// (CSRFConfig) runs without its token layer (the upstream keeps Django's
// token check), and [uploads] (UploadsConfig) always forwards an accepted
// body unchanged. Every other key of bulwark.Config (the token keys of
// [csrf], uploads.reencode, [uploads.storage], [session]) is an unknown key,
// reported with its line and a hint that it is a library setting the
// gateway does not use; no list of them is kept, the types decide.
// Config.EncodeEffective prints what runs.
//
//	cfg, err := gateway.Load("bulwark.toml")
//	g, err := gateway.New(cfg, logger)
//	err = g.Run(ctx) // until ctx is cancelled (SIGTERM), then drains
//
// # Listeners
//
// The HTTPS listener speaks TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites
// only, HTTP/2 and HTTP/1.1. Certificates come from files (re-read on
// Reload, so SIGHUP picks up a renewal) or from ACME (certmagic) for an
// exact list of names, stored on disk or in the [cluster] store, where
// several gateways share them with issuance locks (one order per name).
// The HTTP listener answers ACME HTTP-01 challenges and redirects the rest;
// the HTTPS listener answers TLS-ALPN-01.
//
// Session tickets (TLS resumption) are encrypted under keys the gateway
// makes itself from crypto/rand and keeps only in memory: a fresh key
// every tls.session_ticket_rotation (24h), the previous one still
// accepted, older ones dropped. A ticket therefore resumes a session for
// one to two intervals; crypto/tls on its own accepts keys for 7 days. The
// keys belong to the listener, not the handler tree, so a reload keeps
// them; a restart makes new ones. Gateways behind one load balancer share
// them through the [cluster] store when ticket_key_secret_env is set (the
// store holds seeds; keys are derived under the secret, so a store reader
// cannot decrypt traffic; a store outage keeps the last keys); otherwise
// a client sent to another gateway makes a full handshake, which costs
// latency, not security. The lifetime a TLS 1.3
// ticket advertises stays crypto/tls's fixed 7 days (scanners such as
// testssl.sh report it); the server stops accepting it when its key goes.
// The admin listener, loopback only unless allow_insecure_admin_address,
// serves Prometheus /metrics and /healthz (the upstream's health); a
// load balancer gets the same answer on the public listeners at
// health.path. The HTTP listener redirects to the HTTPS listener's port,
// or to https.redirect_port, the public one behind a port mapping.
//
// Every request gets an id at the top of the tree, kept in its record: a
// refusal the gateway answers itself carries it in X-Request-Id (and, with
// [pages], on its page), and the access log line and the refusal event
// name it, so a user's reference finds the log lines.
//
// # Rate limits
//
// [[rate_limit]] tables are the library's rate-limit rules (package
// ratelimit), keyed by the client the [proxy] section established. Their
// counts live where rateLimitStore says, the one place that picks the
// store, once per gateway (a reload keeps the counts): a Store given in
// Go (Config.RateLimitStore), else, with [cluster], the fleet's store
// (ratelimit/redisstore on its Redis client, ratelimit/pgstore on its
// PostgreSQL pool, table <prefix>_ratelimit, swept every minute), so that
// every gateway counts against one limit; else a memory store of the
// gateway's own. Every decision is counted in
// bulwark_rate_limit_decisions_total{rule, decision}; refusals are also
// refusal events (event rate_limit).
//
// # Request flow
//
// Each request runs, in one handler tree built from one Config:
//
//	access log + metrics (the request's record and id; refusal pages)
//	 → [health] path, answered here for any host (GET, HEAD)
//	 → canonicalizer: singleton headers once, an HTTP/2 host field equal to
//	   :authority, a path without dot segments, %2F, %5C, backslashes or
//	   control bytes (400 otherwise), doubled slashes merged
//	 → csrf exemption mark (unsafe requests outside edge.csrf_paths)
//	 → bulwark.New chain: headers → trustedproxy (client, scheme, host;
//	   forwarded headers only from trusted peers)
//	   ├ media host → hosts (media names) → httpsonly → media (read-only files)
//	   └ hosts → httpsonly (redirect, HSTS) → rate limits → limits
//	     → csrf (Fetch Metadata/Origin; exempt-marked requests pass)
//	     → uploads (every path but uploads.exempt_paths, forwarded)
//	     → body buffering
//	     → ReverseProxy (Rewrite) → upstream
//
// Body buffering comes last, once every check that needs only the headers
// has passed: a request refused for its host, origin or declared length
// is answered without its body being read. The body is then read in full
// (in memory up to buffering.memory_bytes, then into a temporary file
// that has no name) before the upstream is contacted, as nginx does in
// front of gunicorn, whose sync workers must never wait on a client.
// Reading is bounded by the body cap (413), an idle timeout per read and
// timeouts.read for the whole body (408), whichever layer reads it (the
// upload layer reads upload bodies first); a broken chunked encoding or a
// body cut short is a 400. These are the client's faults: one refusal
// event each (request_body_refused, or [limits]' request_too_large),
// never an upstream error. A body the upload layer already spooled is not
// copied again. The upstream receives the body with a Content-Length
// (never chunked, no trailers). An upstream that answers before reading
// the body (a 403 from a view that checks permissions first) and closes
// the connection has its answer relayed, not replaced by a 502.
//
// The CSRF check keeps its place in the chain (after limits, before
// uploads: a forged upload is refused before a byte of it is parsed); the
// gateway scopes it to edge.csrf_paths from outside, with csrf.Exempt.
// Empty edge.csrf_paths means every path; a path is exempt only when it
// is outside the list both as sent and cleaned of doubled slashes.
//
// # Canonical forwarding
//
// The edge's checks protect the upstream only if the upstream reads each
// request as the edge judged it. The canonicalizer, first in the tree,
// makes the request unambiguous before any layer reads it (canonical.go):
//   - A singleton header (Host, Content-Type, Content-Length,
//     Authorization, Cookie, Origin, Referer, Sec-Fetch-*, ...) sent twice
//     is refused (event header_refused, reason duplicate_header): gunicorn
//     joins or takes the last of two, Go reads the first, so a second
//     Content-Type could turn an uninspected body into a multipart upload.
//   - An HTTP/2 host field that differs from :authority is refused
//     (host_mismatch).
//   - A path with "." or ".." segments (also percent-encoded), %2F, %5C,
//     a backslash, NUL or another control byte is refused (path_refused)
//     for every method; doubled slashes are merged and the escaping made
//     canonical. Browsers never send the refused forms; servers route
//     them differently ("/upload/../x" is cleaned by a Go matcher and
//     routed as sent by Django).
//   - Header names containing '_' are dropped before the upstream (event
//     header_dropped; forwarding.allow_underscore_headers keeps named
//     ones): WSGI servers map "Script_Name" onto SCRIPT_NAME, and gunicorn
//     then re-roots the path past path-scoped rules.
//   - Framing (framing.go): an HTTP/1 request with Content-Length beside
//     Transfer-Encoding, or HTTP/1.0 with Transfer-Encoding, is refused
//     and its connection closed (RFC 9112 section 6.1; reasons
//     content_length_with_transfer_encoding, transfer_encoding_http10).
//     net/http deletes Content-Length before a handler runs, so the
//     listeners watch each request head on the connection itself (the
//     HTTPS listener completes the TLS handshake and hands net/http
//     HTTP/1 connections wrapped, HTTP/2 ones as they are). Every HTTP/1
//     request with a chunked body closes its connection after the
//     answer.
//
// On the way to the upstream, client-sent forwarded headers are removed
// (Forwarded, X-Forwarded, X-Forwarded-*, X-Real-IP, Client-IP,
// Forwarded-For, True-Client-IP, CF-Connecting-IP, Via and the rest IP
// libraries read, request overrides such as X-Original-URL and
// X-HTTP-Method-Override, forwarding.strip_headers, and the underscore
// spellings of all of them), the validated host's port is checked against
// the ports the gateway serves (its listener's, forwarding.public_ports, a
// trusted proxy's X-Forwarded-Port; else 400, disallowed_host,
// port_not_served), then X-Forwarded-For/-Proto/-Host/-Port are set
// from what the gateway established, and Host is the validated host.
// X-Forwarded-Port (what Django reads with USE_X_FORWARDED_PORT) is the
// trusted proxy's X-Forwarded-Port when [proxy] use_forwarded_port is set,
// else the validated host's port when it carries one, else the port of the
// listener the client reached. On the way
// back, Set-Cookie lines get Secure, HttpOnly (configured names) and
// SameSite=Lax (when absent); a response without Content-Type is declared
// application/octet-stream with nosniff; security headers that both the
// edge and the upstream set leave once, with the edge's value.
//
// # Threat model
//
// What it stops:
//   - Forged client facts: a client claiming another address, https, or
//     another host through X-Forwarded-*, Forwarded, X-Real-IP or
//     X_Forwarded_* (which WSGI servers fold into the same variables). The
//     upstream can set SECURE_PROXY_SSL_HEADER and trust the values.
//   - Host header attacks (password-reset poisoning, cache poisoning, open
//     redirects): a host outside the allow-list is refused with 400 on both
//     listeners and never reaches the upstream; the upstream's Host is the
//     validated one.
//   - Downgrade and cookie theft on the network: HTTP redirects to HTTPS,
//     HSTS is sent, every upstream cookie is Secure.
//   - Cross-site request forgery from current browsers on edge.csrf_paths,
//     before the upstream runs; and, over HTTPS, from browsers that send
//     neither Origin nor Sec-Fetch-Site, by Django's Referer rule.
//   - Parser differentials between the edge and the app server: duplicate
//     singleton headers, '_' header names that WSGI maps onto CGI
//     variables (SCRIPT_NAME), client-identity headers that IP libraries
//     believe, an HTTP/2 host field that disagrees with :authority.
//   - Path games against the path lists: dot segments, encoded separators,
//     backslashes and control bytes are refused for every method; doubled
//     slashes are merged, so the upstream routes the path the edge matched.
//   - A client-chosen port in the upstream's absolute URLs: a Host port the
//     gateway does not serve is refused.
//   - Request smuggling through Content-Length beside Transfer-Encoding
//     (or Transfer-Encoding on HTTP/1.0): refused with 400, connection
//     closed; nothing queued behind it is read as a request.
//   - Dangerous uploads: on every path (uploads.paths, default "/", less
//     uploads.exempt_paths), a multipart body is spooled
//     and every file inspected by content (type allow-list, PNG+HTML
//     polyglots, SVG with script, decompression bombs) before the upstream
//     sees a byte; a body that is neither a form nor an API's data (JSON,
//     XML, text, opaque bytes: passed unless active markup), such as a
//     PUT of an image, is inspected as one file (uploads.raw_bodies =
//     "refuse" refuses every body that is not a form); a refused file is 415, an oversized
//     body 413 (never a 502), and the upstream is not contacted.
//   - Resource exhaustion by slow or large clients: header, body, write
//     and idle timeouts, a header size cap, a body cap enforced while
//     streaming; slowloris connections are cut. Request bodies are
//     buffered: a client trickling its body holds a gateway goroutine,
//     never one of the upstream's workers.
//   - Client faults reported as upstream faults: malformed, stalled and
//     oversized bodies are 400, 408 and 413 with a refusal event, never
//     502 nor bulwark_upstream_errors_total; an upstream's early answer
//     reaches the client.
//   - Content sniffing of untyped upstream responses into HTML.
//   - Information leaks: a failed upstream is a bare 502 "Bad Gateway";
//     refusals carry only the status text; logs never hold cookies,
//     Authorization, tokens or query strings.
//   - ACME abuse: certificates are requested only for configured names,
//     whatever SNI a client sends.
//   - Long-lived ticket keys: a session ticket key read from the
//     gateway's memory opens only the TLS 1.2 sessions of its last two
//     rotation intervals (TLS 1.3 resumption adds a fresh key exchange),
//     not a week's. Shared through the [cluster] store, the keys never
//     are in the store: a store reader gets seeds without the secret.
//   - A hung cluster store: every call has a deadline (cluster.timeout);
//     TLS keeps its last ticket keys and certificates in memory.
//
// What it does not stop:
//   - Attacks inside the upstream's own logic (SQL injection, XSS in its
//     templates, broken authorisation). The upstream keeps Django's own
//     protections, CSRF tokens included (the edge CSRF layer is tokenless:
//     a request with neither Sec-Fetch-Site nor Origin passes it with a
//     same-origin https Referer, which a client that is not a browser can
//     forge, or, over plain HTTP, with no signal at all).
//   - An attacker who can reach the upstream directly, bypassing the
//     gateway: bind the upstream to loopback or a private network.
//   - A trusted proxy that lies: networks in [proxy] trusted are believed.
//   - Files on uploads.exempt_paths (or outside uploads.paths when it is
//     set).
//   - A gateway embedded through ServeHTTP (not its own listeners) has
//     no connection to watch: there a request with Content-Length and
//     Transfer-Encoding is served with its chunked body decoded
//     (Transfer-Encoding wins) and its connection closed, not refused.
//   - Header semantics an app gives to names outside the lists above (an
//     identity header the app trusts must go in forwarding.strip_headers).
//   - Clients with neither Origin, Sec-Fetch-Site nor Referer on paths
//     outside edge.csrf_paths: there the upstream's token check is alone.
//   - Slow clients on buffering.insecure_stream_paths: their bodies are
//     streamed, and each holds an upstream worker for up to timeouts.read
//     ("bulwark check" warns, BW116).
//   - Many clients sending large bodies at once fill the spool directory's
//     file system (up to max_body_bytes each): size it, or lower the cap.
//   - Volumetric denial of service: rate limiting belongs in front of the
//     gateway or in the network.
//   - Exposure through the admin listener when allow_insecure_admin_address
//     is set.
//   - Someone who can write to the [cluster] store: they can delete
//     certificates, hold the issuance and rotation leases, or make the
//     gateways reuse old ticket seeds (denial of service, and longer-lived
//     ticket keys); they cannot make a gateway use a ticket key they know,
//     nor obtain a certificate. Keep the store as private as the keys in
//     it (ACME account and certificate keys are stored in clear, as in
//     any shared certificate store).
package gateway
