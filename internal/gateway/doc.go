// Package gateway assembles "bulwark serve": a TLS-terminating reverse
// proxy that applies Bulwark's protections in front of any upstream app
// (typically Django behind gunicorn on loopback).
//
// One Config (the TOML file of "bulwark serve", loaded strictly by Load)
// holds the library's configuration, bulwark.Config, whose sections
// ([proxy], [hosts], [https], [headers], [limits], [csrf], [uploads],
// [media]) mean what they mean to an application, and the server's own
// sections ([listen], [tls], [upstream], [timeouts], [edge],
// [access_log], [buffering]). The protections the gateway shares with applications are
// the library's chain, built by bulwark.New from those sections: one
// implementation, one set of defaults. New builds a Gateway; Serve (or
// Run) accepts connections until its context is done; Reload swaps in a
// new handler tree built from a new Config.
//
// The upstream owns its state, so three sections are narrower at the
// edge: [csrf] runs without its token layer (the upstream keeps Django's
// token check; the token keys are refused), [uploads] always forwards an
// accepted body unchanged (reencode and [uploads.storage] are refused),
// and [session] is refused. Config.EncodeEffective prints what runs.
//
//	cfg, err := gateway.Load("bulwark.toml")
//	g, err := gateway.New(cfg, logger)
//	err = g.Run(ctx) // until ctx is cancelled (SIGTERM), then drains
//
// # Listeners
//
// The HTTPS listener speaks TLS 1.3 and TLS 1.2 with ECDHE and AEAD suites
// only, HTTP/2 and HTTP/1.1. Certificates come from files (re-read on
// Reload, so SIGHUP picks up a renewal) or from ACME
// (golang.org/x/crypto/acme/autocert) for an exact list of names, cached
// on disk or in PostgreSQL (PostgresCache) so several gateways share them.
// The HTTP listener answers ACME HTTP-01 challenges and redirects the rest.
//
// Session tickets (TLS resumption) are encrypted under keys the gateway
// makes itself from crypto/rand and keeps only in memory: a fresh key
// every tls.session_ticket_rotation (24h), the previous one still
// accepted, older ones dropped. A ticket therefore resumes a session for
// one to two intervals; crypto/tls on its own accepts keys for 7 days. The
// keys belong to the listener, not the handler tree, so a reload keeps
// them; a restart makes new ones. Gateways behind one load balancer do
// not share keys: a client sent to another gateway makes a full
// handshake, which costs latency, not security. The lifetime a TLS 1.3
// ticket advertises stays crypto/tls's fixed 7 days (scanners such as
// testssl.sh report it); the server stops accepting it when its key goes.
// The admin listener, loopback only unless allow_insecure_admin_address,
// serves Prometheus /metrics and /healthz (the upstream's health).
//
// # Request flow
//
// Each request runs, in one handler tree built from one Config:
//
//	access log + metrics
//	 → unsafe requests with "." or ".." path segments refused (400)
//	 → csrf exemption mark (unsafe requests outside edge.csrf_paths)
//	 → bulwark.New chain: headers → trustedproxy (client, scheme, host;
//	   forwarded headers only from trusted peers)
//	   ├ media host → hosts (media names) → httpsonly → media (read-only files)
//	   └ hosts → httpsonly (redirect, HSTS) → limits
//	     → csrf (Fetch Metadata/Origin; exempt-marked requests pass)
//	     → uploads (on uploads.paths, forwarded) → body buffering
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
// Browsers resolve dot segments before sending a URL, so an unsafe
// request whose path still has one comes from a tool or an attacker, and
// its path is ambiguous: the library matches uploads.paths on the cleaned
// path, as a Go router dispatches, while an upstream that does not clean
// paths routes "/upload/../x" as sent. The gateway refuses such requests
// (event path_refused, reason dot_segment) rather than guess.
//
// On the way to the upstream, client-sent forwarded headers are removed
// (Forwarded, X-Forwarded, X-Forwarded-*, X-Real-IP and similar, and their
// underscore spellings), then X-Forwarded-For/-Proto/-Host/-Port are set
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
//     before the upstream runs.
//   - Path games against the path lists: an unsafe request with dot
//     segments is refused; doubled slashes are matched both ways.
//   - Dangerous uploads: on uploads.paths, a multipart body is spooled
//     and every file inspected by content (type allow-list, PNG+HTML
//     polyglots, SVG with script, decompression bombs) before the upstream
//     sees a byte; a body that is not a form (a PUT or POST of raw bytes,
//     whatever its Content-Type) is inspected as one file, or refused with
//     uploads.raw_bodies = "refuse"; a refused file is 415, an oversized
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
//     not a week's.
//
// What it does not stop:
//   - Attacks inside the upstream's own logic (SQL injection, XSS in its
//     templates, broken authorisation). The upstream keeps Django's own
//     protections, CSRF tokens included (the edge CSRF layer is tokenless
//     and lets through browsers that send neither Sec-Fetch-Site nor
//     Origin).
//   - An attacker who can reach the upstream directly, bypassing the
//     gateway: bind the upstream to loopback or a private network.
//   - A trusted proxy that lies: networks in [proxy] trusted are believed.
//   - Files outside uploads.paths.
//   - Slow clients on buffering.insecure_stream_paths: their bodies are
//     streamed, and each holds an upstream worker for up to timeouts.read
//     ("bulwark check" warns, BW116).
//   - Many clients sending large bodies at once fill the spool directory's
//     file system (up to max_body_bytes each): size it, or lower the cap.
//   - Volumetric denial of service: rate limiting belongs in front of the
//     gateway or in the network.
//   - Exposure through the admin listener when allow_insecure_admin_address
//     is set.
package gateway
