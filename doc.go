// Package bulwark composes Bulwark's protections into one net/http
// middleware, configured by one Config: trusted proxies (package
// trustedproxy), host validation (hosts), the HTTPS redirect and HSTS
// (httpsonly), the browser security headers with CSP (headers), request
// size limits (limits), sessions (session), CSRF protection (csrf), upload
// inspection (upload) and a media host for user content (media): the
// counterpart of Django's settings plus its security middleware.
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
//		"github.com/bulwarkdev/bulwark/csrf"
//		"github.com/bulwarkdev/bulwark/session"
//		"github.com/bulwarkdev/bulwark/session/sqlitestore"
//		"github.com/bulwarkdev/bulwark/upload"
//	)
//
//	var page = template.Must(template.New("").Parse(
//		`<script nonce="{{.Nonce}}">console.log("hello")</script>
//		<form method="post" action="/login">{{.CSRF}}<input name="user"></form>`))
//
//	func main() {
//		cfg, err := bulwark.LoadConfig("/etc/bulwark/config.toml")
//		if err != nil {
//			log.Fatal(err)
//		}
//		// Go values the file cannot hold: the session store.
//		store, err := sqlitestore.Open("/var/lib/app/sessions.db")
//		if err != nil {
//			log.Fatal(err)
//		}
//		cfg.Session.Store = store
//		b, err := bulwark.New(cfg)
//		if err != nil {
//			log.Fatal(err) // every invalid section, with its key
//		}
//		defer b.Close()
//
//		mux := http.NewServeMux()
//		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
//			page.Execute(w, map[string]any{"Nonce": bulwark.Nonce(r), "CSRF": csrf.TemplateField(r)})
//		})
//		mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
//			// ... check the credentials, then, as Django's login():
//			if err := session.Renew(r); err != nil {
//				http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
//				return
//			}
//			session.Put(r, "user", r.PostFormValue("user"))
//			csrf.Rotate(r)
//			http.Redirect(w, r, "/", http.StatusSeeOther)
//		})
//		mux.HandleFunc("POST /upload/avatar", func(w http.ResponseWriter, r *http.Request) {
//			form, ok := upload.FormFrom(r) // parsed, limited and inspected
//			if !ok || len(form.File["avatar"]) != 1 {
//				http.Error(w, "Bad Request", http.StatusBadRequest)
//				return
//			}
//			name, err := b.Uploader().Save(form.File["avatar"][0])
//			if err != nil {
//				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
//				return
//			}
//			// Served by the media host, typed by its content.
//			http.Redirect(w, r, "https://media.example-usercontent.net/"+name, http.StatusSeeOther)
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
//	[[rate_limit]]
//	name = "login"                    # failed sign-ins: 5 an hour per client
//	paths = ["/accounts/login/"]
//	methods = ["POST"]
//	rate = "5/h"
//	count_statuses = [200]            # Django re-renders a failed login with 200
//
//	[limits]
//	max_body_bytes = 1048576          # 1 MiB for every request...
//
//	[[limits.routes]]
//	pattern = "POST /upload/"         # ...but 20 MiB and 5 files here
//	max_body_bytes = 20971520
//	max_files = 5
//
//	[session]
//	lifetime = "12h"
//	idle_timeout = "30m"
//
//	[csrf]
//	use_sessions = true               # the secret in the session above
//	trusted_origins = ["https://*.example.com"]
//
//	[uploads]
//	paths = ["/upload/"]
//	reencode = true
//
//	[uploads.policy]
//	allow = ["image/png", "image/jpeg"]
//
//	[uploads.storage]
//	dir = "/var/lib/app/media"
//
//	[media]
//	hosts = ["media.example-usercontent.net"]
//	dir = "/var/lib/app/media"
//
// The same Config can be built in Go. docs/django-settings.md maps every
// Django setting to its key; testdata/config holds examples with their
// effective configuration (Config.Effective).
//
// # The chain
//
// Handler first attaches the request's record: one context node, created
// once, in which each layer below writes its own part (the client, the
// validated host, its state) and which applications read through
// ClientIP, IsSecure, Host and Nonce. Then it runs, in order:
//
//  1. headers: sets nosniff, Referrer-Policy, COOP, X-Frame-Options, CSP
//     (before the application runs, so it can override them). It comes
//     first so that Bulwark's own refusals and redirects carry the headers
//     too. Django's SecurityMiddleware gives them to its redirects but not
//     to the 400 of a disallowed host on the redirect path (the exception
//     skips its process_response); Bulwark gives them to that 400 as well.
//  2. trustedproxy: establishes the client address, scheme and host, from
//     forwarded headers only when the TCP peer is a configured proxy;
//     malformed headers from a proxy: 400.
//  3. media (when Media.Hosts is set): a request for a media host leaves
//     the site's chain here for its own host check, the same HTTPS policy
//     and package media's handler (GET and HEAD only, sandboxed,
//     never sniffed). The application never sees a media host, and
//     Hosts.Allowed need not list one.
//  4. hosts: validates the host of every request against Hosts.Allowed;
//     anything else: 400.
//  5. httpsonly: redirects plain HTTP to https://<validated host> (301, or
//     308), sends HSTS on secure responses.
//  6. ratelimit (when RateLimit has rules): counts the request under every
//     matching rule, keyed by the client established above; over a rate:
//     429 with Retry-After. A failed-login rule refunds the count once the
//     answer shows a status it does not count.
//  7. limits (always): refuses a declared body over the cap (413) or a
//     query string with too many fields (400), caps the body while it
//     streams, and gives the route's limits to the layers and handlers
//     after it (limits.From, limits.ParseForm, upload); a handler
//     answers a limit error from the body or ParseForm with
//     limits.WriteError.
//  8. session (when Session.Store or Session.CookieStore is set): lazy
//     sessions, saved when the response starts; a store failure is a 503.
//  9. csrf (always): the Fetch Metadata and Origin check on every unsafe
//     request, then Django's token check unless CSRF.InsecureSkipTokens is
//     set (403). With CSRF.UseSessions the secret is kept in the session
//     layer, which New wires in.
//  10. uploads (on Uploads.Paths only): multipart bodies are parsed under
//     the limits and every file inspected by content before the
//     application runs: malformed 400, too many fields or files 400, too
//     large 413, refused content (polyglots, HTML, executables, types
//     outside the allow-list) 415. The handler reads the form with
//     upload.FormFrom.
//
// Handlers behind the chain read what it established with ClientIP,
// IsSecure, Host and Nonce (or the packages' own accessors), and use the
// session and csrf packages' functions (session.Get, session.Put,
// session.Renew, csrf.Token, csrf.TemplateField, csrf.Rotate). Every
// refusal is one log/slog event at Info with stable keys (event, reason,
// client_ip, host, method, path), and its body is only the status text.
//
// # Which sections are on
//
// The zero Config is secure: it allows no host, and once Hosts.Allowed
// names the site, it redirects to HTTPS, sends HSTS and the browser
// headers, enforces Django's request limits with a 32 MiB body cap, and
// refuses cross-site and tokenless unsafe requests. Sessions, upload
// inspection and the media host need something only the user can give (a
// store, the upload endpoints, a media host name); a section that has
// settings but lacks that is an error at New, so a setting never silently
// does nothing. Close releases the directories that upload storage and
// the media host opened.
//
// # Configuration files
//
// LoadConfig reads TOML strictly: an unknown key is an error with its line
// and full name (bulwark: config.toml:12: unknown key "hosts.alowed"), so a
// typo never silently leaves a default in place; durations are strings
// ("8760h"). New validates every section and reports all the invalid ones
// at once, each with its key ("bulwark: [csrf] cookie_same_site ..."). Go values (the
// session store, loggers, a CSRF failure handler, a media Lookup) have no
// key and are set on the loaded Config.
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
// a CSP, most injected scripts, in browsers that honour the headers;
// request-size exhaustion (bodies, fields, files, part headers);
// cross-site request forgery from browsers, old and new, login CSRF and
// cookie tossing; session fixation and id theft from the store; stored
// XSS through uploads (HTML, SVG with script, image/HTML polyglots) and
// serving them from the site's origin.
//
// It does not stop: application vulnerabilities (a CSP limits an XSS, it
// does not fix it; script running in our origin can read CSRF tokens);
// attackers that reach the application without going through the chain
// (another listener, an internal network a proxy trusts); a proxy listed
// in Proxy.Trusted that forwards client headers unfiltered (trust is only
// as good as the proxy); the first plain-HTTP visit of a browser that has
// not seen the HSTS header (the preload list does); state changes on safe
// methods (GET is never checked for CSRF); multipart bodies on paths not
// listed in Uploads.Paths (the application must not accept files there);
// slow clients (set the http.Server's timeouts); a stolen session cookie
// used before logout or expiry.
package bulwark
