// Package headers adds the browser security headers to every response:
// X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy
// (Django's SecurityMiddleware), X-Frame-Options (Django's
// XFrameOptionsMiddleware), Content-Security-Policy and its report-only
// variant with a per-request nonce (Django 6.0's ContentSecurityPolicy
// middleware), Permissions-Policy and Cross-Origin-Resource-Policy.
//
// The zero Config sends
//
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: same-origin
//	Cross-Origin-Opener-Policy: same-origin
//	X-Frame-Options: DENY
//
// and a CSP only when one is configured:
//
//	hs, err := headers.New(headers.Config{
//		CSP: headers.Policy{
//			{Name: "default-src", Values: []string{headers.Self}},
//			{Name: "script-src", Values: []string{headers.Self, headers.NonceSentinel}},
//			{Name: "frame-ancestors", Values: []string{headers.None}},
//		},
//	})
//
// and in a handler, for a template:
//
//	data.Nonce = headers.Nonce(r) // <script nonce="{{.Nonce}}">
//
// Every value is validated and rendered once, by New; a request costs one
// small allocation (plus the nonce state when a policy uses the nonce).
//
// # Overriding per response
//
// Headers are set before the wrapped handler runs, so the handler has the
// last word: Header().Set replaces a header, Header().Del removes it (for
// example X-Frame-Options on a page meant to be framed, Django's
// @xframe_options_exempt). OverrideCSP and OverrideCSPReportOnly replace a
// policy with another that may use the nonce too (Django's @csp_override);
// an empty Policy switches the header off. A header an outer layer already
// put on the response is never overwritten.
//
// # Threat model
//
// It stops, in browsers that honour the headers: MIME sniffing of user
// content into scripts or styles (nosniff); leaking full URLs, with their
// tokens, to other sites (Referrer-Policy); cross-origin windows keeping a
// handle on ours (COOP, which also blocks XS-Leaks through window
// references); clickjacking (X-Frame-Options, or CSP frame-ancestors);
// injected scripts and styles, when a CSP without 'unsafe-inline' is
// configured (a nonce lets your own inline code run, a fresh one every
// request, from 128 random bits, so it cannot be guessed or replayed).
// Policies are validated at New: an unknown directive, a keyword missing
// its quotes ("self" is a host name to browsers, silently weakening the
// policy) or a character that would split the header is a configuration
// error, not a header browsers half-ignore.
//
// It does not stop: the vulnerabilities themselves (an XSS a CSP blocks is
// still a bug, and a CSP with 'unsafe-inline' blocks little); old browsers
// that ignore these headers; a nonce leaked by the page itself (a template
// that reflects it into attacker-controlled markup). A policy listing
// NonceSentinel sends no nonce when the response never read it: safe
// (stricter than configured) but inline code will not run.
package headers
