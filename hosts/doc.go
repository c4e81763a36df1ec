// Package hosts validates the host of every request against an allow-list,
// as Django's ALLOWED_HOSTS, and builds absolute URLs only from a validated
// host, as Django's build_absolute_uri.
//
//	hv, err := hosts.New(hosts.Config{Allowed: []string{"example.com", ".example.org"}})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(addr, tp.Handler(hv.Handler(app)))
//
// Matching follows Django exactly: exact names, patterns with a leading
// dot that match the name and all its subdomains, IP literals (IPv6 in
// brackets, compared as strings), case-insensitive, with the request's
// port and one trailing dot ignored; a syntactically invalid host (see
// SplitDomainPort) is refused even under "*". Host returns the validated
// value unchanged (case, port and trailing dot kept), as get_host does,
// and HostError carries Django's DisallowedHost message.
//
// Where Django is weaker, Bulwark differs:
//
//   - Validation happens once, in Handler, for every request and before
//     any later layer reads the host. Django validates only when
//     get_host() is called, so code that reads META["HTTP_HOST"] skips
//     it. Refused requests get 400 Bad Request with the status text as
//     body (never the host) and one "disallowed_host" event at Info.
//   - Entries that could never match (a port, a trailing dot, invalid
//     characters, empty) are an error at New, not silently ignored.
//   - "*" needs Config.AllowInsecureAnyHost.
//   - The forwarded host (Django's USE_X_FORWARDED_HOST) is only used when
//     it comes from a trusted proxy; see package trustedproxy, which must
//     run first when there are proxies in front.
//   - A request without a host (HTTP/1.0 without a Host header) is
//     refused: Go servers have no SERVER_NAME to fall back on, and
//     guessing one would defeat the check.
//   - Non-ASCII hosts are refused. Python lower-cases the Kelvin sign
//     U+212A to "k" before matching; Bulwark does not let a non-ASCII
//     byte reach the allow-list at all.
//
// # Threat model
//
// It stops Host header attacks: a request whose Host (or trusted forwarded
// host) is not one of the site's names never reaches the application, so
// password-reset links, redirects, absolute URLs and cache keys cannot be
// made to point at an attacker's domain, and DNS rebinding against the
// site is refused. It also covers the absolute-form request target ("GET
// http://evil/ HTTP/1.1" with "Host: good"): Go takes the host from the
// target URL, as RFC 9112 says, and that host is what is validated.
//
// It does not stop:
//
//   - an attacker who controls a name in the allow-list, or a wildcard
//     pattern that covers names the site does not own;
//   - open redirects: AbsoluteURL returns a location that already has a
//     scheme and host unchanged, as Django does;
//   - code that reads r.Host or the Host header itself instead of Host;
//   - hosts chosen by a trusted proxy (see package trustedproxy).
package hosts
