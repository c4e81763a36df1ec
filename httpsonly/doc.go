// Package httpsonly redirects plain-HTTP requests to HTTPS and sends
// Strict-Transport-Security on secure responses: Django's SECURE_SSL_REDIRECT,
// SECURE_SSL_HOST, SECURE_REDIRECT_EXEMPT and SECURE_HSTS_* settings.
//
// The zero Config redirects every plain-HTTP request with 301 to
// "https://" + the validated host + the escaped path and query, and sends
// "Strict-Transport-Security: max-age=31536000" on every secure response:
//
//	p, err := httpsonly.New(httpsonly.Config{
//		HSTSIncludeSubdomains: true,
//		RedirectStatus:        308, // keep POST bodies
//	})
//	if err != nil {
//		return err
//	}
//	handler = p.Handler(handler)
//
// Whether a request is secure comes from trustedproxy.IsSecure: the TLS
// connection itself, or X-Forwarded-Proto / Forwarded from a configured
// proxy. The redirect host is Config.SSLHost, or else the host package
// hosts validated for this request. Put trustedproxy and hosts in front
// (package bulwark composes them in that order).
//
// # Differences from Django
//
//   - Redirects and HSTS are on by default (Django: off).
//   - Without SSLHost, a request whose host was not validated by package
//     hosts is refused with 400 ("event": "disallowed_redirect", "reason":
//     "host_not_validated") instead of being redirected: Django validates
//     the host inside the redirect through get_host(), this package relies
//     on the hosts layer having done it and fails closed when it has not.
//   - RedirectStatus 308 keeps the method and body of non-GET requests;
//     RedirectPort sets or (with 443) drops the port of the target, which
//     Django always copies from the request.
//   - "preload" without "includeSubDomains" is a configuration error, as
//     the preload list would refuse the header. A max-age under one year
//     with preload is allowed: sites ramp the age up with the header's
//     final shape, and refusing it would break that documented rollout
//     (and Django's own tests); Config.PreloadEligible reports whether the
//     header meets every rule of the list.
//
// # Threat model
//
// It stops: passive eavesdropping and active downgrade of first visits
// (the redirect) and of later visits (HSTS, once a browser has seen it);
// open redirects through the Host header (only a validated or configured
// host is ever used, and the path is escaped so "//evil.com", backslashes
// and CR/LF stay part of the path of that host); header injection through
// the path or query (control characters are percent-encoded); a client
// that claims HTTPS with X-Forwarded-Proto from outside the trusted proxies
// (ignored by trustedproxy, so the request is still redirected and gets no
// HSTS); oversized redirect targets (400 above 16384 bytes).
//
// It does not stop: an attacker on the network during the very first
// plain-HTTP request of a browser that has never seen the site's HSTS and
// does not have it preloaded (only the preload list does); HSTS sent by a
// misconfigured proxy that marks plain requests as secure; requests that an
// exempt pattern lets through over HTTP (they get no HSTS and no
// protection). HSTS is irreversible for max-age seconds in every browser
// that saw it: enable includeSubDomains and preload only when every
// subdomain serves HTTPS.
package httpsonly
