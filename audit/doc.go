// Package audit finds weakened protections in a Bulwark deployment, from
// the inside (Check, a configuration lint, the counterpart of Django's
// "manage.py check --deploy") and from the outside (Scan, a black-box probe
// of a running site). "bulwark check" and "bulwark scan" are its command
// lines.
//
// Checks are data: every finding names a Rule of the catalogue (Rules) by a
// stable ID (BW0xx configuration, BW1xx server, BW2xx scan), with a
// severity, the configuration key it concerns, a fix and, where Django has
// one, the Django check it corresponds to ("security.W004"), so a site
// migrating from Django can match its old warnings. The catalogue is
// rendered in docs/checks.md.
//
//	for _, f := range audit.Check(cfg) {
//		fmt.Println(f) // BW005 warning https.hsts_include_subdomains: ... [django: security.W005]
//	}
//
// Check lints a bulwark.Config; CheckDeployment adds what lies beside it:
// a secret key (package signing), layers an application composes itself,
// and the server around the chain (the gateway's listeners, certificates,
// upstream and timeouts, described by Server).
//
// A configuration that New would refuse is reported as an Error finding
// carrying the validation error (BW001, or the rule that explains it, such
// as BW013 for an invalid Referrer-Policy, Django's E023), never skipped.
//
// # Threat model
//
// A configuration lint sees what the operator wrote: switched-off layers,
// weakened values, weak secret keys, over-broad trusted proxy networks,
// certificate files about to expire. It cannot see what happens around the
// configuration: whether the application behind the chain mounts it on
// every route, whether a proxy in front strips forwarded headers, whether
// handlers render the CSP nonce, what the upstream's own cookies look
// like, or whether the secret key has leaked. Findings are advice about
// known weakening patterns, not proof of safety: a clean report means
// none of the catalogue's rules fired.
//
// A black-box scan sees what any client sees on the paths it probes
// (ScanProbes lists them, numbered): redirects and the cookies set on
// every hop, plain HTTP included; response headers on the page, a few of
// its links and a missing page; how foreign Host, absolute-form and
// X-Forwarded-* requests are answered on both ports; CORS answers to a
// foreign and a null Origin; whether ambiguous framing (two Host or
// Content-Type headers, Content-Length with Transfer-Encoding) is refused
// or the connection closed; whether a CSP nonce repeats; the scripts the
// page loads (over plain HTTP, or without Subresource Integrity); the TLS
// versions, every cipher suite Go can speak, post-quantum key exchange
// and the certificate, its key and its signature; media files named with
// --media; and (only on paths named with --post, because POSTs can change
// state) whether a cross-site POST is refused. The framing probes are built so
// that whichever length a server believes, the request ends at the same
// byte: nothing is smuggled. A scan cannot see other paths, cookies set
// only after login, behaviour behind authentication, or anything that
// depends on a network position it does not have (a trusted proxy's
// address). It sends requests only to the host of the URL it is given
// (or the address given for it) and to the media URLs it is given, never
// follows a redirect to another host, and sends nothing that should
// change state unless told to.
//
// Reports come as text, HTML, JSON (versioned, docs/scan-json.md) and
// SARIF 2.1.0, with findings the most severe first and fix texts for the
// server family the scan saw (Family). A Baseline accepts known findings
// so that a CI gate (--fail-on) fails only on new ones.
package audit
