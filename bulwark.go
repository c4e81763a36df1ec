package bulwark

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/internal/buildcount"
	"github.com/bulwarkdev/bulwark/internal/mediameta"
	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/signing"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Config is the whole of Bulwark's configuration: one section per package,
// the same struct behind the Go API and the TOML file (see LoadConfig). The
// zero Config is a secure one, and refuses every request until Hosts.Allowed
// names the site.
//
// Every section is either always on with secure defaults (proxy, hosts,
// https, headers, limits, csrf) or off until the value that makes it
// meaningful is given (session: a Store; uploads: Paths; media: Hosts). A
// section of the second kind that has settings but lacks that value is a
// configuration error, so a setting never silently does nothing.
type Config struct {
	// Proxy says which peers are trusted proxies and which forwarded
	// headers they send (Django's SECURE_PROXY_SSL_HEADER,
	// USE_X_FORWARDED_HOST, USE_X_FORWARDED_PORT). Zero: trust no one.
	Proxy trustedproxy.Config `toml:"proxy"`

	// Hosts is the allow-list of host names (Django's ALLOWED_HOSTS),
	// checked on every request. Zero: no host is allowed.
	Hosts hosts.Config `toml:"hosts"`

	// HTTPS configures the HTTP→HTTPS redirect and HSTS (Django's
	// SECURE_SSL_* and SECURE_HSTS_*). Zero: redirect with 301 and send
	// HSTS for one year.
	HTTPS httpsonly.Config `toml:"https"`

	// Headers configures the browser security headers and CSP (Django's
	// SECURE_* headers, X_FRAME_OPTIONS, SECURE_CSP). Zero: nosniff,
	// Referrer-Policy same-origin, COOP same-origin, X-Frame-Options DENY.
	Headers headers.Config `toml:"headers"`

	// RateLimit lists the rate limits, one ratelimit.Rule per
	// [[rate_limit]] table: the paths, methods and rate of each, keyed by
	// the client the proxy layer established, refused with 429 and
	// Retry-After (failed-login mode: Rule.CountStatuses). Django has no
	// counterpart. Empty (the default): no rate limit.
	RateLimit []ratelimit.Rule `toml:"rate_limit"`
	// RateLimitStore keeps the counts of RateLimit (Go only): a
	// ratelimit/redisstore or ratelimit/pgstore Store to share limits
	// between instances. Nil means a memory store of this Bulwark's own.
	RateLimitStore ratelimit.Store `toml:"-"`
	// RateLimitObserve, if set, is called with every rate-limit decision
	// (Go only), for metrics.
	RateLimitObserve func(rule string, d ratelimit.Decision) `toml:"-"`

	// Limits bounds request bodies, form fields and files (Django's
	// DATA_UPLOAD_* and FILE_UPLOAD_MAX_MEMORY_SIZE). Always on. Zero:
	// Django's defaults (1000 fields, 100 files, 2.5 MiB of form data)
	// plus a 32 MiB body cap.
	Limits limits.Config `toml:"limits"`

	// Session is the session middleware (django.contrib.sessions). It is
	// on when Session.Store or Session.CookieStore is set; both are Go
	// values (the root package names no store, so it links no database
	// driver). Zero: no session layer. Cookie and lifetime settings
	// without a store are an error.
	Session session.Config `toml:"session"`

	// CSRF is the cross-site request forgery protection
	// (CsrfViewMiddleware). Always on: the Fetch Metadata and Origin
	// layer cannot be switched off; the token layer is on unless
	// CSRF.InsecureSkipTokens is set. With CSRF.UseSessions the secret is
	// kept in the session layer, which is wired in automatically (set
	// Session.Store). Zero: both layers, the secret in a SameSite=Lax
	// cookie, __Host- prefixed and Secure over HTTPS.
	CSRF csrf.Config `toml:"csrf"`

	// Uploads inspects multipart uploads on the paths it names (Django's
	// upload handlers and ImageField validation). Zero: no path is an
	// upload path and the application sees multipart bodies as they are.
	Uploads UploadsConfig `toml:"uploads"`

	// Media serves user content on a host of its own (the MEDIA_URL
	// advice): requests for Media.Hosts go to package media's handler,
	// never to the application. On when Media.Hosts is set. Zero: no
	// media host.
	Media media.Config `toml:"media"`

	// Signing names where the secret signing key and its fallbacks come
	// from (a file or an environment variable, never the key itself), so
	// that "bulwark check" can lint the key (Django's security.W009 and
	// W025) and the application can load it with Signing.Load. Zero: the
	// configuration names no key.
	Signing SigningConfig `toml:"signing"`

	// Logger receives every refusal event of every layer whose own Logger
	// is nil. Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// UploadsConfig is the [uploads] section: package upload's Config, whose
// keys sit at the top of the table, plus the paths it applies to.
type UploadsConfig struct {
	// Paths are the request paths whose multipart bodies are parsed and
	// inspected before the application runs. A path ending in "/" matches
	// itself, the same path without the slash, and everything below it;
	// any other path matches only itself. Requests are matched by their
	// cleaned URL path (dot segments and duplicate slashes resolved, as
	// http.ServeMux does), case-sensitively. Each entry must be absolute
	// and clean. The application reads accepted files with
	// upload.FormFrom(r). Empty (the default): the layer is off; other
	// settings in the section are then an error.
	Paths []string `toml:"paths"`

	// ExemptPaths are paths under Paths that are not inspected (a view
	// that takes multipart bodies and no files, or checks them itself),
	// in the same grammar as Paths (package internal/pathset). A request
	// is exempt only when its path, as sent, is clean and matches: a
	// spelling with dot segments or doubled slashes is inspected (an
	// upstream that does not clean paths may route it to an upload view).
	// Empty (the default): nothing under Paths is exempt.
	ExemptPaths []string `toml:"exempt_paths"`

	upload.Config
}

// middleware is what every layer builds.
type middleware interface {
	Handler(http.Handler) http.Handler
}

// chainBuilds counts the chains New has built (see internal/buildcount).
var chainBuilds = &buildcount.Chains

// Bulwark is the composed chain, built by New. It is immutable and safe for
// concurrent use; to change the configuration, build a new one, swap the
// handler, and Close the old one once its requests are done.
type Bulwark struct {
	headers, proxy, hosts, https, limits middleware
	ratelimit                            *ratelimit.Limiter // nil: no rate limits

	session *session.Manager // nil: no session layer
	csrf    *csrf.Protection
	uploads *uploads       // nil: no upload paths
	media   *mediaBranch   // nil: no media host
	closers []func() error // roots opened by upload storage and media
}

// New validates every section of c (see Validate) and builds the chain.
// The error reports every invalid section (errors.Join), each prefixed
// with its TOML key, or what building found (a directory that cannot be
// opened).
func New(c Config) (*Bulwark, error) {
	c = c.withLogger()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	chainBuilds.Add(1)
	b := &Bulwark{}
	var errs []error
	fail := func(key string, err error) {
		errs = append(errs, &sectionError{section: key, err: err})
	}
	build := func(key string, dst *middleware, f func() (middleware, error)) {
		m, err := f()
		if err != nil {
			fail(key, err)
			return
		}
		*dst = m
	}
	build("headers", &b.headers, func() (middleware, error) { return headers.New(c.Headers) })
	build("proxy", &b.proxy, func() (middleware, error) { return trustedproxy.New(c.Proxy) })
	build("hosts", &b.hosts, func() (middleware, error) { return hosts.New(c.Hosts) })
	build("https", &b.https, func() (middleware, error) { return httpsonly.New(c.HTTPS) })
	build("limits", &b.limits, func() (middleware, error) { return limits.New(c.Limits) })
	// Rate limits: on with rules (Validate refused a store or observer
	// without rules).
	if len(c.RateLimit) > 0 {
		l, err := ratelimit.New(ratelimit.Config{Rules: c.RateLimit, Store: c.RateLimitStore,
			Observe: c.RateLimitObserve, Logger: c.Logger})
		if err != nil {
			fail("rate_limit", err)
		} else {
			b.ratelimit = l
		}
	}

	if c.sessionWanted() {
		m, err := session.New(c.Session)
		if err != nil {
			fail("session", err)
		} else {
			b.session = m
		}
	}
	cc, err := c.csrfConfig(b.session)
	if err != nil {
		fail("csrf", err)
	}
	if p, err := csrf.New(cc); err != nil {
		fail("csrf", err)
	} else {
		b.csrf = p
	}

	if len(c.Uploads.Paths) > 0 {
		u, err := newUploads(c.Uploads)
		if err != nil {
			fail("uploads", err)
		} else {
			b.uploads = u
			b.closers = append(b.closers, u.u.Close)
		}
	}

	if c.Media.Enabled() || configured(c.Media, "Logger") {
		m, err := newMediaBranch(c)
		if err != nil {
			fail("media", err)
		} else {
			b.media = m
			b.closers = append(b.closers, m.close)
		}
	}

	if len(errs) > 0 {
		b.Close()
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// withLogger gives c.Logger to every section without a Logger of its own.
func (c Config) withLogger() Config {
	if c.Logger == nil {
		return c
	}
	for _, lg := range []**slog.Logger{
		&c.Proxy.Logger, &c.Hosts.Logger, &c.HTTPS.Logger, &c.Limits.Logger,
		&c.Session.Logger, &c.CSRF.Logger, &c.Uploads.Logger, &c.Media.Logger,
	} {
		if *lg == nil {
			*lg = c.Logger
		}
	}
	return c
}

// configured reports whether a section has any setting other than the
// named fields (loggers, clocks: they configure nothing by themselves).
func configured(section any, ignore ...string) bool {
	v := reflect.ValueOf(section)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		skip := false
		for _, name := range ignore {
			skip = skip || f.Name == name
		}
		switch {
		case skip:
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			if configured(v.Field(i).Interface(), ignore...) {
				return true
			}
		case !v.Field(i).IsZero():
			return true
		}
	}
	return false
}

// unavailableSecrets stands in for a session layer that failed to build,
// only while New collects the errors of every section.
type unavailableSecrets struct{}

func (unavailableSecrets) CSRFSecret(*http.Request) (string, error) {
	return "", session.ErrNoSession
}

func (unavailableSecrets) SetCSRFSecret(*http.Request, string) error { return session.ErrNoSession }

// Validate reports every problem with c (errors.Join), each prefixed with
// its TOML key, without building the chain: it opens nothing (no media or
// storage directory) and builds no layer. New reports the same problems,
// plus those only building finds (a directory that cannot be opened).
func (c Config) Validate() error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, &sectionError{section: key, err: err})
		}
	}
	check("headers", c.Headers.Validate())
	check("proxy", c.Proxy.Validate())
	check("hosts", c.Hosts.Validate())
	check("https", c.HTTPS.Validate())
	check("limits", c.Limits.Validate())
	check("signing", c.Signing.Validate())
	check("rate_limit", c.validateRateLimits())
	check("session", c.validateSession())
	cc, err := c.csrfConfig(nil)
	check("csrf", err)
	check("csrf", cc.Validate())
	check("uploads", c.validateUploads())
	if c.Media.Enabled() || configured(c.Media, "Logger") {
		check("media", c.mediaConfigs().validate())
	}
	return errors.Join(errs...)
}

// sectionError is a problem of one section of Config. Its message names
// the section's TOML table once, then the package's message without its
// own prefix ("bulwark: [limits] max_fields = -5: use -1 for no limit",
// not "bulwark: [limits]: limits: invalid configuration: max_fields..."),
// so that the key reads once. It wraps the package's error: errors.Is
// finds the package's ErrConfig.
type sectionError struct {
	section string
	err     error
}

func (e *sectionError) Error() string {
	msg := e.err.Error()
	for _, p := range packagePrefixes {
		if strings.HasPrefix(msg, p) {
			msg = msg[len(p):]
			break
		}
	}
	return "bulwark: [" + e.section + "] " + msg
}

func (e *sectionError) Unwrap() error { return e.err }

// Section returns the TOML table of the section ("limits"), for tools
// that report the key (bulwark check).
func (e *sectionError) Section() string { return e.section }

// packagePrefixes are what the sections' packages begin their messages
// with, longest first: their ErrConfig's text, or their name.
var packagePrefixes = func() []string {
	var out []string
	for _, s := range []error{headers.ErrConfig, trustedproxy.ErrConfig, hosts.ErrConfig, httpsonly.ErrConfig,
		limits.ErrConfig, session.ErrConfig, csrf.ErrConfig, upload.ErrConfig, inspect.ErrInvalidPolicy, media.ErrConfig,
		ratelimit.ErrConfig, signing.ErrConfig} {
		out = append(out, s.Error()+": ")
	}
	for _, pkg := range []string{"headers", "trustedproxy", "hosts", "httpsonly", "limits", "session", "csrf", "upload", "inspect", "media", "signing", "ratelimit"} {
		out = append(out, pkg+": ")
	}
	return out
}()

// validateRateLimits: a store or observer without rules would do nothing,
// so it is refused.
func (c Config) validateRateLimits() error {
	if len(c.RateLimit) == 0 {
		if c.RateLimitStore != nil || c.RateLimitObserve != nil {
			return errors.New("a store or observer given but no rules: add [[rate_limit]] tables")
		}
		return nil
	}
	return ratelimit.Config{Rules: c.RateLimit}.Validate()
}

// sessionWanted reports whether the session layer is on: it needs a store.
func (c Config) sessionWanted() bool { return c.Session.Store != nil || c.Session.CookieStore != nil }

// validateSession: settings without a store would be ignored, so they are
// refused instead.
func (c Config) validateSession() error {
	switch {
	case c.sessionWanted():
		return c.Session.Validate()
	case configured(c.Session, "Logger", "Now"):
		return errors.New("settings given but no store: set Config.Session.Store (or CookieStore) in Go")
	}
	return nil
}

// csrfConfig returns the [csrf] section as the chain runs it: with
// use_sessions, the secret lives in the session layer m. While the chain
// is validated (m nil), or when that layer is configured but invalid, a
// stand-in keeps the rest of [csrf] validated. The error is a use_sessions
// without any session layer; the section is then validated without it.
func (c Config) csrfConfig(m *session.Manager) (csrf.Config, error) {
	cc := c.CSRF
	if !cc.UseSessions || cc.Sessions != nil {
		return cc, nil
	}
	switch {
	case m != nil:
		cc.Sessions = m
	case c.sessionWanted():
		cc.Sessions = unavailableSecrets{}
	default:
		cc.UseSessions = false
		return cc, errors.New("use_sessions needs the session layer: set Config.Session.Store (or CookieStore)")
	}
	return cc, nil
}

// validateUploads: the layer is on with paths; other settings without
// paths would be ignored, so they are refused.
func (c Config) validateUploads() error {
	if len(c.Uploads.Paths) == 0 {
		if configured(c.Uploads, "Logger") {
			return errors.New("settings given but no paths: set uploads.paths to the upload endpoints")
		}
		return nil
	}
	if _, err := pathset.Parse(c.Uploads.Paths); err != nil {
		return fmt.Errorf("paths: %w", err)
	}
	if _, err := pathset.Parse(c.Uploads.ExemptPaths); err != nil {
		return fmt.Errorf("exempt_paths: %w", err)
	}
	return c.Uploads.Config.Validate()
}

// Handler returns next wrapped in the whole chain, outermost first:
//
//	record → headers → proxy → (media host? hosts → https → media)
//	                → hosts → https → rate limits → limits → session → csrf → uploads → next
//
// headers comes first so that every response Bulwark produces carries the
// security headers, its own refusals and redirects included. That is more
// than Django does: its SecurityMiddleware (first in MIDDLEWARE) adds them
// to the responses it lets through and to its own HTTPS redirect, but not
// to the 400 of the redirect path, where get_host() raises DisallowedHost
// inside the middleware and the exception skips its process_response.
// Bulwark adds them there too: an error page is a page, and a browser must
// not sniff it into a script or frame it either. It reads no request facts, so its place does not change what the others
// see. Then the request facts in dependency order: trustedproxy
// establishes the client, scheme and host; a request for a media host
// leaves for the media branch there, before the site's host check, so
// that the application never sees a media host and the site's
// Hosts.Allowed need not list it; hosts validates the host; httpsonly
// redirects to that validated host. Rate limits come next, keyed by the
// client the proxy layer established, so that a client over its rate
// costs no body reading (and a redirect to HTTPS is not counted). Then
// Django's order: limits before
// anything reads a body, the session before CSRF (which may keep its
// secret in it), and CSRF before uploads, so that a forged upload is
// refused before a byte of it is parsed.
//
// The record at the top is the request's per-request record, created once
// (one context node holding it, and the request's shallow copy): every
// layer behind writes its own part there (the client, the validated host,
// its state) and reads the others' through accessors, so no layer needs a
// context value or a request copy of its own.
func (b *Bulwark) Handler(next http.Handler) http.Handler {
	h := next
	if b.uploads != nil {
		h = b.uploads.handler(h)
	}
	h = b.csrf.Handler(h)
	if b.session != nil {
		h = b.session.Handler(h)
	}
	h = b.limits.Handler(h)
	if b.ratelimit != nil {
		h = b.ratelimit.Handler(h)
	}
	h = b.https.Handler(h)
	h = b.hosts.Handler(h)
	if b.media != nil {
		h = b.media.switchTo(h)
	}
	h = b.proxy.Handler(h)
	return reqstate.Handler(b.headers.Handler(h))
}

// Session returns the session manager, or nil when the session layer is
// off. Handlers use the session package's functions (session.Get,
// session.Put, session.Renew); the manager tells the cookie's name.
func (b *Bulwark) Session() *session.Manager { return b.session }

// CSRF returns the CSRF protection, for its CookieName (scripts that copy
// the cookie into the token header) and Check. Handlers use csrf.Token,
// csrf.TemplateField and csrf.Rotate.
func (b *Bulwark) CSRF() *csrf.Protection { return b.csrf }

// Uploader returns the uploader of the upload paths, for Save, or nil when
// uploads.paths is empty.
func (b *Bulwark) Uploader() *upload.Uploader {
	if b.uploads == nil {
		return nil
	}
	return b.uploads.u
}

// Close releases the directories opened for upload storage and the media
// host. Handlers built by b must not serve requests afterwards.
func (b *Bulwark) Close() error {
	var errs []error
	for _, c := range b.closers {
		errs = append(errs, c())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// Request facts, for handlers behind the chain. They are the accessors of
// the packages that establish them, repeated here for convenience.

// ClientIP returns the client's address as established by trustedproxy
// (the TCP peer, or the first untrusted hop behind trusted proxies).
func ClientIP(r *http.Request) netip.Addr { return trustedproxy.ClientIP(r) }

// IsSecure reports whether the request reached the site over HTTPS, as
// established by trustedproxy.
func IsSecure(r *http.Request) bool { return trustedproxy.IsSecure(r) }

// Host returns the request's host as validated by the hosts layer, and
// false when it was not validated.
func Host(r *http.Request) (string, bool) { return hosts.Host(r) }

// Nonce returns the request's CSP nonce for templates (see headers.Nonce).
func Nonce(r *http.Request) string { return headers.Nonce(r) }

// uploads is the upload layer: the uploader on the configured paths.
type uploads struct {
	u      *upload.Uploader
	paths  pathset.Set
	exempt pathset.Set
}

func newUploads(c UploadsConfig) (*uploads, error) {
	paths, err := pathset.Parse(c.Paths)
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	exempt, err := pathset.Parse(c.ExemptPaths)
	if err != nil {
		return nil, fmt.Errorf("exempt_paths: %w", err)
	}
	out := &uploads{paths: paths, exempt: exempt}
	u, err := upload.New(c.Config)
	if err != nil {
		return nil, err
	}
	out.u = u
	return out, nil
}

func (u *uploads) handler(next http.Handler) http.Handler {
	inspect := u.u.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.match(r.URL.Path) {
			inspect.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// match reports whether p is inspected. Matching errs on the side of
// inspecting: the cleaned path is compared to Paths, so "/a/../upload/x"
// is inspected as "/upload/x", where a router would send it; and only a
// path that is clean as sent can be exempt.
func (u *uploads) match(p string) bool {
	if !u.paths.Match(pathset.Clean(p)) {
		return false
	}
	return !(pathset.IsClean(p) && u.exempt.Match(p))
}

// mediaBranch routes requests for the media hosts to package media, with
// host validation and HTTPS of their own.
type mediaBranch struct {
	hosts   map[string]bool
	branch  http.Handler
	handler *media.Handler
	typer   *mediameta.Lookup // nil when Media.Lookup was given
}

// close releases the media root and the typer's.
func (m *mediaBranch) close() error {
	err := m.handler.Close()
	if m.typer != nil {
		err = errors.Join(err, m.typer.Close())
	}
	return err
}

// mediaConfigs are the configurations of the media branch's layers.
type mediaConfigs struct {
	media media.Config
	https httpsonly.Config
	hosts hosts.Config
}

func (c Config) mediaConfigs() mediaConfigs {
	mc := c.Media
	mc.SiteHosts = mediaSiteHosts(c)
	// The media host gets the site's HTTPS policy, except a redirect host
	// override, which names the site.
	hc := c.HTTPS
	hc.SSLHost = ""
	return mediaConfigs{media: mc, https: hc, hosts: hosts.Config{Allowed: mc.Hosts, Logger: c.Hosts.Logger}}
}

func (m mediaConfigs) validate() error {
	if err := m.media.Validate(); err != nil {
		return err
	}
	if !m.media.Enabled() {
		return fmt.Errorf("%w: hosts, site_hosts and dir are required", media.ErrConfig)
	}
	if err := m.https.Validate(); err != nil {
		return err
	}
	return m.hosts.Validate()
}

func newMediaBranch(c Config) (*mediaBranch, error) {
	mc := c.mediaConfigs()
	var typer *mediameta.Lookup
	if mc.media.Lookup == nil {
		// Files are typed by content whatever stored them (the
		// application's own FileField included), with the upload policy's
		// allow-list: the same inspector decides at upload and at serving.
		t, err := mediameta.New(mc.media.Dir, c.Uploads.Policy)
		if err != nil {
			return nil, err
		}
		typer, mc.media.Lookup = t, t
	}
	mh, err := media.New(mc.media)
	if err != nil {
		if typer != nil {
			typer.Close()
		}
		return nil, err
	}
	m := &mediaBranch{hosts: map[string]bool{}, handler: mh, typer: typer}
	for _, h := range mc.media.Hosts {
		m.hosts[strings.ToLower(strings.TrimSuffix(h, "."))] = true
	}
	https, err := httpsonly.New(mc.https)
	if err != nil {
		m.close()
		return nil, err
	}
	hv, err := hosts.New(mc.hosts)
	if err != nil {
		m.close()
		return nil, err
	}
	m.branch = hv.Handler(https.Handler(mh))
	return m, nil
}

// mediaSiteHosts returns Media.SiteHosts, or by default the site that
// Hosts.Allowed names: "example.com" and ".example.com" both stand for
// example.com. "*" names no site, so site_hosts must then be given.
func mediaSiteHosts(c Config) []string {
	if len(c.Media.SiteHosts) > 0 {
		return c.Media.SiteHosts
	}
	var out []string
	for _, h := range c.Hosts.Allowed {
		if h = strings.TrimPrefix(h, "."); h != "" && h != "*" && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// switchTo sends requests whose host (as trustedproxy established it) is
// a media host to the media branch, the rest to site. Both branches
// validate the host again, strictly.
func (m *mediaBranch) switchTo(site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, _ := hosts.SplitDomainPort(trustedproxy.Host(r))
		d = strings.TrimSuffix(d, ".")
		if m.hosts[d] || m.hosts[strings.ToLower(d)] {
			m.branch.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}
