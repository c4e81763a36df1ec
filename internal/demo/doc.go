// Package demo is the sample deployment "bulwark demo" runs: a small web
// app (sign-in, a guestbook form, uploads) served on a loopback port, with
// the Bulwark gateway in front of it on HTTPS, a local CA that signs the
// certificates, and a separate media host for the uploaded files.
//
// # Who protects what
//
// The split is the one a real deployment has, so the demo shows the
// gateway in front of "any app":
//
//   - The edge (the gateway) owns what needs the connection or must hold
//     for every app alike: TLS, the HTTP to HTTPS redirect, HSTS, host
//     validation, the security headers, the Fetch Metadata and Origin CSRF
//     check, cookie hardening, upload filtering before the app sees a
//     byte, and serving uploaded files from the media host.
//   - The app owns what needs its data: who is signed in (sessions in an
//     embedded SQLite store), the per-user CSRF tokens in its forms, the
//     CSP nonce of its inline style, and where accepted files are stored.
//
// # Threat model
//
// The demo is a teaching and testing tool bound to loopback. Its user and
// password are fixed and printed on the page: it protects nothing of
// value. What it does show is each protection refusing an attack: a
// forged cross-site POST, a missing or wrong CSRF token, a session fixed
// before sign-in, a polyglot upload, a script in an uploaded file trying to
// reach the site's cookies. The local CA is limited by name constraints to
// loopback names (package localca), so trusting it does not let its key
// impersonate other sites.
package demo
