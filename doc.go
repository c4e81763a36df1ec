// Package bulwark composes Bulwark's protections into one net/http
// middleware, configured by one Config: trusted proxies (package
// trustedproxy), host validation (hosts), the HTTPS redirect and HSTS
// (httpsonly) and the browser security headers with CSP (headers), the
// counterpart of Django's settings plus SecurityMiddleware,
// XFrameOptionsMiddleware and the CSP middleware.
//
// A complete program:
//
//	package main
//
//	import (
//		"html/template"
//		"log"
//		"net/http"
//
//		"github.com/bulwarkdev/bulwark"
//		"github.com/bulwarkdev/bulwark/headers"
//	)
//
//	var page = template.Must(template.New("").Parse(
//		`<script nonce="{{.}}">console.log("hello")</script>`))
//
//	func main() {
//		cfg, err := bulwark.LoadConfig("/etc/bulwark/config.toml")
//		if err != nil {
//			log.Fatal(err)
//		}
//		b, err := bulwark.New(cfg)
//		if err != nil {
//			log.Fatal(err) // every invalid section, with its key
//		}
//		mux := http.NewServeMux()
//		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//			page.Execute(w, headers.Nonce(r))
//		})
//		log.Fatal(http.ListenAndServe("127.0.0.1:8080", b.Handler(mux)))
//	}
//
// with config.toml, for an app behind a proxy on the same machine that
// terminates TLS:
//
//	[proxy]
//	trusted = ["loopback"]
//	ssl_header = "X-Forwarded-Proto"
//	ssl_header_value = "https"
//
//	[hosts]
//	allowed = ["example.com", ".example.com"]
//
//	[https]
//	hsts_max_age = "8760h"
//	hsts_include_subdomains = true
//	redirect_status = 308
//
//	[headers]
//	referrer_policy = ["strict-origin-when-cross-origin"]
//
//	[[headers.csp]]
//	name = "default-src"
//	values = ["'self'"]
//
//	[[headers.csp]]
//	name = "script-src"
//	values = ["'self'", "<CSP_NONCE_SENTINEL>"]
//
// The same Config can be built in Go. docs/django-settings.md maps every
// Django setting to its key.
//
// # The chain
//
// Handler runs, in order:
//
//  1. headers: sets nosniff, Referrer-Policy, COOP, X-Frame-Options, CSP
//     (before the application runs, so it can override them). It comes
//     first so that Bulwark's own refusals and redirects carry the headers
//     too, as Django's SecurityMiddleware gives them to every response.
//  2. trustedproxy: establishes the client address, scheme and host, from
//     forwarded headers only when the TCP peer is a configured proxy;
//     malformed headers from a proxy: 400.
//  3. hosts: validates the host of every request against Hosts.Allowed;
//     anything else: 400.
//  4. httpsonly: redirects plain HTTP to https://<validated host> (301, or
//     308), sends HSTS on secure responses.
//
// Handlers behind the chain read what it established with ClientIP,
// IsSecure, Host and Nonce (or the packages' own accessors). Every refusal
// is one log/slog event at Info with stable keys (event, reason,
// client_ip, host, method, path), and its body is only the status text.
//
// # Configuration files
//
// LoadConfig reads TOML strictly: an unknown key is an error with its line
// and full name (bulwark: config.toml:12: unknown key "hosts.alowed"), so a
// typo never silently leaves a default in place; durations are strings
// ("8760h"). New validates every section and reports all the invalid ones
// at once.
//
// # Threat model
//
// Bulwark stops, for every request that goes through the chain: spoofed
// X-Forwarded-* and Forwarded headers from anyone but the configured
// proxies (Django's weak point: its proxy settings trust every client);
// Host header attacks (cache poisoning, password-reset link poisoning,
// open redirects through the HTTPS redirect), since no handler sees a
// request whose host is not allowed; plain-HTTP access and downgrades
// (redirect, HSTS); clickjacking, MIME sniffing, referrer leaks and, with
// a CSP, most injected scripts, in browsers that honour the headers.
//
// It does not stop: application vulnerabilities (a CSP limits an XSS, it
// does not fix it); attackers that reach the application without going
// through the chain (another listener, an internal network a proxy
// trusts); a proxy listed in Proxy.Trusted that forwards client headers
// unfiltered (trust is only as good as the proxy); the first plain-HTTP
// visit of a browser that has not seen the HSTS header (the preload list
// does); CSRF, sessions and uploads, which their own packages handle.
package bulwark
