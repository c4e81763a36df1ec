package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/ratelimit"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Config is the gateway's configuration: the server sections below plus the
// library sections composed around the proxy. It is the struct behind
// the TOML file of "bulwark serve" (every field has a snake_case toml tag).
//
// The zero value of every section is the secure default documented on its
// fields; only Upstream.URL is required.
//
// The library sections the edge runs as an application does are the
// library's own types, with the library's keys and defaults: a key added
// to one of them works here too. [csrf] and [uploads] mean less at the
// edge, because the upstream owns its tokens and its files: they are the
// gateway's own CSRFConfig and UploadsConfig, holding only the keys the
// edge runs. Every other key of bulwark.Config ([session], the token keys
// of [csrf], uploads.reencode, [uploads.storage], and any key the library
// gains in those sections) is an unknown key here, which Parse reports
// with its line and a hint that it is a library setting the gateway does
// not use.
type Config struct {
	// Proxy says which peers are trusted proxies (see bulwark.Config).
	// Zero: trust no proxy, every forwarded header is stripped.
	Proxy trustedproxy.Config `toml:"proxy"`
	// Hosts is the allow-list of host names. Zero: no host allowed,
	// every request refused with 400.
	Hosts hosts.Config `toml:"hosts"`
	// HTTPS configures the HTTP→HTTPS redirect and HSTS. Zero: 301
	// redirect, one-year HSTS.
	HTTPS httpsonly.Config `toml:"https"`
	// Headers configures the browser security headers. Zero: nosniff,
	// Referrer-Policy and COOP same-origin, X-Frame-Options DENY.
	Headers headers.Config `toml:"headers"`
	// RateLimit lists the rate limits, one [[rate_limit]] table each.
	// Empty (the default): no rate limit.
	RateLimit []ratelimit.Rule `toml:"rate_limit"`
	// RateLimitStore keeps the counts of RateLimit (Go only). Nil means
	// the [cluster] store when there is one, else a memory store of the
	// gateway's own (see rateLimitStore).
	RateLimitStore ratelimit.Store `toml:"-"`
	// RateLimitObserve, if set, is called with every rate-limit decision
	// (Go only), after the gateway has counted it.
	RateLimitObserve func(rule string, d ratelimit.Decision) `toml:"-"`
	// Limits bounds request bodies, form fields and files. Zero:
	// Django's limits and a 32 MiB body cap.
	Limits limits.Config `toml:"limits"`
	// CSRF is the edge's CSRF check: only the Fetch Metadata and Origin
	// layer, on Edge.CSRFPaths (see CSRFConfig). Zero: unsafe requests
	// only from the site's own origin.
	CSRF CSRFConfig `toml:"csrf"`
	// Uploads inspects multipart uploads before the upstream sees them
	// (see UploadsConfig). Zero: every multipart body on every path is
	// inspected, unlike the library's zero; uploads.exempt_paths names
	// the exceptions.
	Uploads UploadsConfig `toml:"uploads"`
	// Media serves user content on a host of its own. Zero: no media
	// host; media.site_hosts defaults to the names of hosts.allowed.
	Media media.Config `toml:"media"`
	// Signing names where the application's signing key comes from, for
	// "bulwark check" to lint (the gateway signs nothing itself). Zero:
	// no key named.
	Signing bulwark.SigningConfig `toml:"signing"`

	// Listen says where the gateway accepts connections.
	Listen ListenConfig `toml:"listen"`
	// TLS says where certificates come from: files, or ACME.
	TLS TLSConfig `toml:"tls"`
	// Upstream is the application behind the gateway.
	Upstream UpstreamConfig `toml:"upstream"`
	// Timeouts harden the servers against slow clients.
	Timeouts TimeoutsConfig `toml:"timeouts"`
	// Edge selects the paths of the edge CSRF check and how upstream
	// cookies are hardened.
	Edge EdgeConfig `toml:"edge"`
	// AccessLog configures the JSON access log.
	AccessLog AccessLogConfig `toml:"access_log"`
	// Forwarding shapes what the upstream receives: which client headers
	// are removed and which ports a Host may name (see canonical.go).
	Forwarding ForwardingConfig `toml:"forwarding"`
	// Cluster names the store several gateways share (ticket keys, ACME,
	// rate-limit counts).
	Cluster ClusterConfig `toml:"cluster"`
	// Buffering reads request bodies in full before the upstream sees
	// them (see BufferingConfig).
	Buffering BufferingConfig `toml:"buffering"`
	// Health is a health path on the public listeners, for load
	// balancers. Zero: none (the admin listener's /healthz remains).
	Health HealthConfig `toml:"health"`
	// Pages are the bodies of the gateway's own refusals, per status, in
	// HTML or JSON. Zero: the status text as plain text.
	Pages PagesConfig `toml:"pages"`
	// Runtime tunes the Go runtime: the garbage collector's pace and a
	// soft memory limit. Zero: gc_percent 400, no memory limit (or the
	// GOGC and GOMEMLIMIT environment variables).
	Runtime RuntimeConfig `toml:"runtime"`
}

// ListenConfig holds the listener addresses ("host:port").
type ListenConfig struct {
	// HTTPS is the TLS listener. Empty means ":443".
	HTTPS string `toml:"https"`
	// HTTP is the plain-HTTP listener, which only redirects to HTTPS and
	// answers ACME HTTP-01 challenges. Empty means ":80"; "off" disables it.
	HTTP string `toml:"http"`
	// Admin serves /metrics and /healthz. Empty means "127.0.0.1:9090";
	// "off" disables it. It must be a loopback address (metrics reveal
	// traffic patterns and /healthz the upstream's state) unless
	// AllowInsecureAdminAddress is set.
	Admin string `toml:"admin"`
	// AllowInsecureAdminAddress permits a non-loopback Admin address.
	// False (the default) refuses one at Validate.
	AllowInsecureAdminAddress bool `toml:"allow_insecure_admin_address"`
	// AdminProfiling serves Go's runtime profiles (net/http/pprof) under
	// /debug/pprof/ on the admin listener, for measuring the gateway
	// under load. False (the default) serves none: a profile reveals
	// the process's code paths and a CPU profile costs while it runs.
	AdminProfiling bool `toml:"admin_profiling"`
}

// Off is the listener address that disables an optional listener.
const Off = "off"

// TLSConfig says where the HTTPS listener's certificates come from: exactly
// one of a certificate file pair or ACME.
type TLSConfig struct {
	// CertFile and KeyFile are PEM files (the certificate chain, leaf
	// first, and its private key). They are read at start and again on
	// every reload (SIGHUP); a failed read keeps the previous pair.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// ACME obtains certificates automatically for the allowed hosts.
	ACME ACMEConfig `toml:"acme"`
	// SessionTicketRotation is how often a fresh random session ticket
	// key is made. Tickets (TLS session resumption) are encrypted under
	// the newest key and accepted under the newest and the one before, so
	// a ticket resumes a session for at least one interval and at most
	// two, and a stolen key opens the tickets of at most two intervals.
	// Zero means 24h; it must lie between 1m and 168h. Without a
	// [cluster] store (or without its ticket_key_secret_env), keys live
	// only in the process's memory: several gateways don't share them (a
	// client sent to another gateway makes a full handshake), and a
	// restart starts afresh. With them, the fleet shares the keys (see
	// ClusterConfig). A change needs a restart.
	SessionTicketRotation time.Duration `toml:"session_ticket_rotation"`

	// GetCertificate, when set (from Go only), supplies certificates
	// instead of files or ACME: a local CA, a test.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error) `toml:"-"`
}

// ACMEConfig configures automatic certificates (RFC 8555), obtained and
// renewed by certmagic, for an exact list of names.
type ACMEConfig struct {
	// Enabled turns ACME on. False (the default) requires CertFile/KeyFile.
	Enabled bool `toml:"enabled"`
	// Hosts are the names certificates may be requested for. Only exact
	// names: a certificate is never requested for a name a client made up
	// (that would let anyone exhaust the CA's rate limits). Empty means
	// the exact names of hosts.allowed (patterns such as ".example.com"
	// are skipped); with none, enabling ACME is an error.
	Hosts []string `toml:"hosts"`
	// Email is the contact address given to the CA. Empty sends none.
	Email string `toml:"email"`
	// DirectoryURL is the CA's directory. Empty means Let's Encrypt's
	// production directory.
	DirectoryURL string `toml:"directory_url"`
	// DirectoryCAFile is a PEM file of the authorities the directory's
	// own TLS certificate is verified against, for a private CA. Empty
	// means the system roots.
	DirectoryCAFile string `toml:"directory_ca_file"`
	// Challenges are the challenge types offered to the CA: "http-01"
	// (answered on the HTTP listener) and "tls-alpn-01" (answered on the
	// HTTPS listener). Empty means both (http-01 only while the HTTP
	// listener is on). Every gateway of a fleet answers every challenge:
	// challenge data is kept in the storage.
	Challenges []string `toml:"challenges"`
	// CacheDir stores the account key and certificates on disk (mode
	// 0700), for a single gateway. With a [cluster] store they live in
	// the store instead, shared by every gateway with issuance locks (so
	// gateways starting together place one order per name), and
	// CacheDir must be empty. One of the two is required.
	CacheDir string `toml:"cache_dir"`
}

// challenge reports whether challenge type name is offered.
func (c ACMEConfig) challenge(name string) bool {
	if len(c.Challenges) == 0 {
		return true
	}
	for _, ch := range c.Challenges {
		if strings.EqualFold(ch, name) {
			return true
		}
	}
	return false
}

// UpstreamConfig is the application behind the gateway.
type UpstreamConfig struct {
	// URL is the upstream's base URL ("http://127.0.0.1:8000"). Required.
	// Its path, if any, is prefixed to every proxied path.
	URL string `toml:"url"`
	// HealthPath is fetched with GET every HealthInterval; a 2xx or 3xx
	// answer means healthy. The request carries the first exact name of
	// hosts.allowed as Host and "X-Forwarded-Proto: https", so that an
	// upstream checking ALLOWED_HOSTS or redirecting to HTTPS answers as
	// it does for real traffic. Empty means a TCP connect to the upstream.
	HealthPath string `toml:"health_path"`
	// HealthInterval is the time between checks. Zero means 10s.
	HealthInterval time.Duration `toml:"health_interval"`
	// HealthTimeout bounds one check. Zero means 2s.
	HealthTimeout time.Duration `toml:"health_timeout"`
	// DialTimeout bounds connecting to the upstream. Zero means 5s.
	DialTimeout time.Duration `toml:"dial_timeout"`
	// ResponseHeaderTimeout bounds the wait for the upstream's response
	// headers once the request is sent. Zero means 60s.
	ResponseHeaderTimeout time.Duration `toml:"response_header_timeout"`
	// MaxIdleConns is the number of idle keep-alive connections kept to
	// the upstream. Zero means 256.
	MaxIdleConns int `toml:"max_idle_conns"`
	// CAFile is a PEM file of the certificate authorities an https
	// upstream's certificate is verified against. Empty means the system
	// roots.
	CAFile string `toml:"ca_file"`
	// InsecureSkipVerify accepts any certificate from an https upstream,
	// which lets anyone on the path between the gateway and the upstream
	// read and change the traffic. False (the default) verifies it.
	InsecureSkipVerify bool `toml:"insecure_skip_verify"`
}

// TimeoutsConfig hardens the public servers. Go's http.Server has no
// timeouts at all by default, which lets a slow client (slowloris) hold a
// connection and a goroutine forever.
type TimeoutsConfig struct {
	// ReadHeader bounds reading the request headers. Zero means 5s.
	ReadHeader time.Duration `toml:"read_header"`
	// Read bounds reading the whole request, body included (uploads must
	// fit in it). Zero means 60s.
	Read time.Duration `toml:"read"`
	// Write bounds the time from the end of the request headers to the end
	// of the response. Zero means 120s.
	Write time.Duration `toml:"write"`
	// Idle bounds the wait for the next request on a keep-alive
	// connection. Zero means 120s.
	Idle time.Duration `toml:"idle"`
	// Drain bounds the graceful shutdown: in-flight requests get this long
	// to finish before connections are closed. Zero means 30s.
	Drain time.Duration `toml:"drain"`
	// MaxHeaderBytes caps the request line and headers. Zero means 64 KiB.
	MaxHeaderBytes int `toml:"max_header_bytes"`
}

// EdgeConfig holds what only a gateway in front of another app needs.
type EdgeConfig struct {
	// CSRFPaths are the paths on which unsafe requests (POST, PUT,
	// PATCH, DELETE) must pass the Fetch Metadata / Origin check of
	// [csrf], in the one path grammar of the configuration: an entry
	// ending in "/" covers itself, the same path without the slash and
	// everything below it ("/app/" covers "/app", "/app/" and "/app/x",
	// not "/apps"); any other entry covers exactly itself. A request is
	// checked when its path, as sent or cleaned of dot segments and
	// doubled slashes, is covered: a spelling cannot slip past the check. Empty (nil or [])
	// means every path: leaving the list out never leaves a path
	// unprotected; switching the check off takes AllowInsecureNoCSRF.
	CSRFPaths []string `toml:"csrf_paths"`
	// AllowInsecureNoCSRF switches the edge CSRF check off on every path,
	// leaving cross-site request forgery to the upstream alone. False
	// (the default) checks CSRFPaths. Setting both is an error.
	AllowInsecureNoCSRF bool `toml:"allow_insecure_no_csrf"`
	// Cookies hardens Set-Cookie headers from the upstream.
	Cookies CookieConfig `toml:"cookies"`
}

// CookieConfig hardens every Set-Cookie the upstream sends. Secure is
// always added to cookies set in answer to an HTTPS request (every request,
// unless https.allow_insecure_http lets plain HTTP through).
type CookieConfig struct {
	// HTTPOnly lists cookie names that get HttpOnly (scripts can't read
	// them). Nil means ["sessionid"], Django's session cookie. The CSRF
	// cookie is not in the default list: Django's JavaScript recipe reads it.
	HTTPOnly []string `toml:"http_only"`
	// AllowInsecureNoSameSite keeps cookies without SameSite as they are.
	// False (the default) adds SameSite=Lax to them.
	AllowInsecureNoSameSite bool `toml:"allow_insecure_no_same_site"`
}

// AccessLogConfig configures the access log: one JSON line per request
// with method, host, path (never the query), status, bytes, duration and
// client_ip. Cookies, Authorization and query strings are never logged.
type AccessLogConfig struct {
	// Disabled turns the access log off. False (the default) logs.
	Disabled bool `toml:"disabled"`
	// Path is a file the log is appended to. Empty means the gateway's
	// logger (standard error for "bulwark serve").
	Path string `toml:"path"`
}

// ForwardingConfig shapes the request the upstream receives. The gateway
// forwards a canonical request, the one its checks judged: singleton
// headers once, no header names a WSGI or CGI server would fold into
// something else, no client claims about the client, and a Host port the
// gateway serves. The zero value is the strict default.
type ForwardingConfig struct {
	// StripHeaders are removed from every request before the upstream
	// sees it, in addition to the built-in list of client-identity
	// headers (X-Forwarded-*, Forwarded, X-Real-IP, Client-IP,
	// True-Client-IP and the rest that IP libraries read; see
	// isProxyHeader): typically headers an upstream trusts as an identity,
	// such as Remote-User or X-Auth-User. Names are compared
	// case-insensitively with '_' and '-' folded, so every spelling goes;
	// from a trusted proxy ([proxy] trusted) the canonical spelling is
	// kept, as the proxy's own statement. Zero: only the built-in list.
	StripHeaders []string `toml:"strip_headers"`
	// AllowUnderscoreHeaders are header names containing '_' that are
	// forwarded. Every other name with '_' is dropped before the upstream
	// (and logged, event header_dropped): WSGI and CGI servers turn '-'
	// into '_', so "Script_Name" or "X_Forwarded_Proto" reach an app as
	// the variables the server or a proxy sets (gunicorn re-roots the
	// path on a SCRIPT_NAME header). Names are compared
	// case-insensitively. A name that folds to a stripped, client-identity
	// or singleton header is refused at Validate. Zero: drop them all.
	AllowUnderscoreHeaders []string `toml:"allow_underscore_headers"`
	// PublicPorts are ports, besides the one of the listener a connection
	// arrived on, that a Host header may name: the public ports of a
	// load balancer or NAT that maps them onto the gateway's listeners.
	// A request whose Host names another port is refused (400, event
	// disallowed_host, reason port_not_served), so that a client cannot
	// put a port of its choosing into the upstream's absolute URLs
	// (Django's build_absolute_uri, password-reset mails). A Host without
	// a port is always accepted. Zero: only the listener's own port.
	PublicPorts []int `toml:"public_ports"`
}

// Defaults.
const (
	DefaultHTTPS          = ":443"
	DefaultHTTP           = ":80"
	DefaultAdmin          = "127.0.0.1:9090"
	DefaultHealthInterval = 10 * time.Second
	DefaultHealthTimeout  = 2 * time.Second
	DefaultDialTimeout    = 5 * time.Second
	DefaultResponseHeader = 60 * time.Second
	DefaultMaxIdleConns   = 256
	DefaultReadHeader     = 5 * time.Second
	DefaultRead           = 60 * time.Second
	DefaultWrite          = 120 * time.Second
	DefaultIdle           = 120 * time.Second
	DefaultDrain          = 30 * time.Second
	DefaultMaxHeaderBytes = 64 << 10

	DefaultSessionTicketRotation = 24 * time.Hour
	// MinSessionTicketRotation and MaxSessionTicketRotation bound
	// TLS.SessionTicketRotation: shorter makes resumption rare for no
	// gain; longer keeps keys as long as crypto/tls's own rotation (7
	// days), which is what the setting exists to shorten.
	MinSessionTicketRotation = time.Minute
	MaxSessionTicketRotation = 7 * 24 * time.Hour
)

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// WithDefaults returns c with every zero field replaced by its default, the
// effective configuration "bulwark serve --check" prints.
func (c Config) WithDefaults() Config {
	// The library's defaults, from the packages (no validation, nothing
	// built: Validate reports problems), narrowed again to the keys the
	// edge has: the token layer's defaults (cookie name, header name)
	// describe nothing the edge does.
	c.setLibrary(c.Library().WithDefaults())
	if c.Listen.HTTPS == "" {
		c.Listen.HTTPS = DefaultHTTPS
	}
	if c.Listen.HTTP == "" {
		c.Listen.HTTP = DefaultHTTP
	}
	if c.Listen.Admin == "" {
		c.Listen.Admin = DefaultAdmin
	}
	// The HTTP listener redirects to the HTTPS listener, not to the port
	// the plain request came in on (which would land a browser on a TLS
	// handshake with a plain-HTTP server). A port set in the file is the
	// public one (a load balancer or a port mapping in front) and wins.
	// A listener on port 0 gets its port when bound (see Gateway.Serve).
	// Behind a proxy that terminates TLS ([proxy] ssl_header), clients
	// never reach listen.https: the redirect keeps the port the proxy
	// reports (none: 443) unless redirect_port names one.
	if c.HTTPS.RedirectPort == 0 && !c.proxyTerminatesTLS() {
		c.HTTPS.RedirectPort = listenPort(c.Listen.HTTPS)
	}
	u := &c.Upstream
	u.HealthInterval = orDur(u.HealthInterval, DefaultHealthInterval)
	u.HealthTimeout = orDur(u.HealthTimeout, DefaultHealthTimeout)
	u.DialTimeout = orDur(u.DialTimeout, DefaultDialTimeout)
	u.ResponseHeaderTimeout = orDur(u.ResponseHeaderTimeout, DefaultResponseHeader)
	if u.MaxIdleConns == 0 {
		u.MaxIdleConns = DefaultMaxIdleConns
	}
	c.TLS.SessionTicketRotation = orDur(c.TLS.SessionTicketRotation, DefaultSessionTicketRotation)
	t := &c.Timeouts
	t.ReadHeader = orDur(t.ReadHeader, DefaultReadHeader)
	t.Read = orDur(t.Read, DefaultRead)
	t.Write = orDur(t.Write, DefaultWrite)
	t.Idle = orDur(t.Idle, DefaultIdle)
	t.Drain = orDur(t.Drain, DefaultDrain)
	if t.MaxHeaderBytes == 0 {
		t.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if len(c.Edge.CSRFPaths) == 0 && !c.Edge.AllowInsecureNoCSRF {
		c.Edge.CSRFPaths = []string{"/"}
	}
	if c.TLS.ACME.Enabled && len(c.TLS.ACME.Hosts) == 0 {
		c.TLS.ACME.Hosts = exactHosts(c.Hosts.Allowed)
	}
	if c.Edge.Cookies.HTTPOnly == nil {
		c.Edge.Cookies.HTTPOnly = []string{"sessionid"}
	}
	if c.Cluster.Enabled() {
		c.Cluster.Timeout = orDur(c.Cluster.Timeout, cluster.DefaultTimeout)
		if c.Cluster.Prefix == "" {
			c.Cluster.Prefix = cluster.DefaultPrefix
		}
	}
	c.Buffering = c.Buffering.withDefaults(c.Uploads.TempDir)
	return c
}

// EncodeEffective writes c.WithDefaults() as TOML, what "bulwark serve
// --check" prints: every section with the keys the edge has (see Config),
// so that the printout shows only what runs. The output is itself a valid
// configuration.
func (c Config) EncodeEffective(w io.Writer) error {
	eff := c.WithDefaults()
	eff.Cluster.Store = redactURL(eff.Cluster.Store)
	if err := toml.NewEncoder(w).Encode(eff); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

// DefaultUploadPaths is uploads.paths when the file leaves it out: every
// path.
func DefaultUploadPaths() []string { return []string{"/"} }

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("gateway: invalid configuration")

// ErrInvalidConfig is ErrConfig.
//
// Deprecated: use ErrConfig, the name every package uses.
var ErrInvalidConfig = ErrConfig

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// Validate reports the first problem in c (defaults applied first).
func (c Config) Validate() error {
	if c.Edge.AllowInsecureNoCSRF && len(c.Edge.CSRFPaths) > 0 {
		return invalid("edge: csrf_paths has no effect with allow_insecure_no_csrf; remove one of them")
	}
	c = c.WithDefaults()
	if err := checkAddr("listen.https", c.Listen.HTTPS, false); err != nil {
		return err
	}
	if err := checkAddr("listen.http", c.Listen.HTTP, true); err != nil {
		return err
	}
	if err := checkAddr("listen.admin", c.Listen.Admin, true); err != nil {
		return err
	}
	if c.Listen.Admin != Off && !c.Listen.AllowInsecureAdminAddress && !isLoopbackAddr(c.Listen.Admin) {
		return invalid("listen.admin %q is not a loopback address (set allow_insecure_admin_address to expose metrics and health)", c.Listen.Admin)
	}
	if err := c.checkRedirectPort(); err != nil {
		return err
	}
	if err := c.Runtime.validate(); err != nil {
		return err
	}
	if err := c.Health.validate(); err != nil {
		return err
	}
	if _, err := c.Pages.load(c.Uploads.Policy.Allow); err != nil {
		return err
	}
	if _, err := c.upstreamURL(); err != nil {
		return err
	}
	if c.Upstream.HealthPath != "" && !strings.HasPrefix(c.Upstream.HealthPath, "/") {
		return invalid("upstream.health_path %q must start with /", c.Upstream.HealthPath)
	}
	a := c.TLS.ACME
	files := c.TLS.CertFile != "" || c.TLS.KeyFile != ""
	switch {
	case a.Enabled && files:
		return invalid("tls: set either cert_file/key_file or acme, not both")
	case a.Enabled:
		if len(a.Hosts) == 0 {
			a.Hosts = exactHosts(c.Hosts.Allowed)
		}
		if len(a.Hosts) == 0 {
			return invalid("tls.acme.hosts is empty: name the hosts certificates may be requested for")
		}
		for _, h := range a.Hosts {
			if h == "" || strings.ContainsAny(h, "*:/ ") || strings.HasPrefix(h, ".") {
				return invalid("tls.acme.hosts: %q is not an exact host name", h)
			}
		}
		switch {
		case c.Cluster.Enabled() && a.CacheDir != "":
			return invalid("tls.acme.cache_dir: certificates live in the [cluster] store; remove cache_dir")
		case !c.Cluster.Enabled() && a.CacheDir == "":
			return invalid("tls.acme: set cache_dir, or a [cluster] store shared by the gateways")
		}
		for _, ch := range a.Challenges {
			if !strings.EqualFold(ch, ChallengeHTTP01) && !strings.EqualFold(ch, ChallengeTLSALPN01) {
				return invalid("tls.acme.challenges: %q is not %q or %q", ch, ChallengeHTTP01, ChallengeTLSALPN01)
			}
		}
		if a.challenge(ChallengeHTTP01) && !a.challenge(ChallengeTLSALPN01) && c.Listen.HTTP == Off {
			return invalid("tls.acme.challenges: http-01 needs the HTTP listener (listen.http is off)")
		}
		if a.DirectoryURL != "" {
			if u, err := url.Parse(a.DirectoryURL); err != nil || u.Scheme != "https" || u.Host == "" {
				return invalid("tls.acme.directory_url %q is not an https URL", a.DirectoryURL)
			}
		}
	case !files && c.TLS.GetCertificate == nil:
		return invalid("tls: set cert_file and key_file, or enable acme")
	case files && (c.TLS.CertFile == "" || c.TLS.KeyFile == ""):
		return invalid("tls: cert_file and key_file go together")
	}
	for key, d := range map[string]time.Duration{
		"upstream.health_interval": c.Upstream.HealthInterval, "upstream.health_timeout": c.Upstream.HealthTimeout,
		"upstream.dial_timeout": c.Upstream.DialTimeout, "upstream.response_header_timeout": c.Upstream.ResponseHeaderTimeout,
		"timeouts.read_header": c.Timeouts.ReadHeader, "timeouts.read": c.Timeouts.Read, "timeouts.write": c.Timeouts.Write,
		"timeouts.idle": c.Timeouts.Idle, "timeouts.drain": c.Timeouts.Drain,
	} {
		if d < 0 {
			return invalid("%s must not be negative", key)
		}
	}
	if r := c.TLS.SessionTicketRotation; r != 0 && (r < MinSessionTicketRotation || r > MaxSessionTicketRotation) {
		return invalid("tls.session_ticket_rotation %v is outside %v..%v", r, MinSessionTicketRotation, MaxSessionTicketRotation)
	}
	if c.Timeouts.MaxHeaderBytes < 0 {
		return invalid("timeouts.max_header_bytes must not be negative")
	}
	if c.Upstream.MaxIdleConns < 0 {
		return invalid("upstream.max_idle_conns must not be negative")
	}
	if _, err := pathset.Parse(c.Edge.CSRFPaths); err != nil {
		return invalid("edge.csrf_paths: %w", err)
	}
	if err := c.Forwarding.validate(); err != nil {
		return err
	}
	for _, n := range c.Edge.Cookies.HTTPOnly {
		if n == "" || strings.ContainsAny(n, "=; \t,") {
			return invalid("edge.cookies.http_only: %q is not a cookie name", n)
		}
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if err := c.Buffering.validate(c.Uploads.Paths, c.Uploads.ExemptPaths); err != nil {
		return err
	}
	return c.validateSections()
}

// validateSections validates the library sections as New will build them.
func (c Config) validateSections() error {
	if err := c.Library().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// exactHosts returns the entries of hosts.allowed that are exact names
// (not ".example.com" patterns, not "*"), lower-cased.
func exactHosts(allowed []string) []string {
	var out []string
	for _, h := range allowed {
		if h == "" || h == "*" || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "[") {
			continue
		}
		if _, err := netip.ParseAddr(h); err == nil {
			continue // ACME certificates are for names
		}
		out = append(out, strings.ToLower(h))
	}
	return out
}

func checkAddr(key, addr string, optional bool) error {
	if optional && addr == Off {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return invalid("%s %q is not host:port", key, addr)
	}
	return nil
}

// proxyTerminatesTLS reports whether a trusted proxy in front terminates
// TLS and says which requests came over it ([proxy] ssl_header).
func (c Config) proxyTerminatesTLS() bool {
	return c.Proxy.SSLHeader != "" && len(c.Proxy.Trusted) > 0
}

// listenPort returns the port of a listener address, or 0 when it has
// none or is "off".
func listenPort(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return 0
	}
	return n
}

// checkRedirectPort refuses a redirect that would land on the gateway's
// own plain-HTTP listener: the browser would try TLS on a port that
// answers in clear (or, through an HTTP client, loop on the redirect).
// The effective configuration (defaults applied) is checked.
func (c Config) checkRedirectPort() error {
	rp, hp := c.HTTPS.RedirectPort, listenPort(c.Listen.HTTP)
	if c.Listen.HTTP == Off || hp == 0 || rp != hp || rp == listenPort(c.Listen.HTTPS) {
		return nil
	}
	return invalidKey("https.redirect_port", "https.redirect_port %d is the port of listen.http %q: the redirect would land on plain HTTP (leave redirect_port out to use the port of listen.https, or give the public HTTPS port)", rp, c.Listen.HTTP)
}

// isLoopbackAddr reports whether addr binds only loopback interfaces. An
// empty host (":9090") binds every interface and is not loopback.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func (c Config) upstreamURL() (*url.URL, error) {
	if c.Upstream.URL == "" {
		return nil, invalid("upstream.url is required")
	}
	u, err := url.Parse(c.Upstream.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, invalid("upstream.url %q is not an http(s) URL without credentials, query or fragment", c.Upstream.URL)
	}
	return u, nil
}

// Load reads a TOML configuration file strictly: an unknown key is an
// error naming the key and its line, so a typo never silently leaves a
// protection at a default.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("gateway: %w", err)
	}
	return Parse(b)
}

// Parse is Load for a TOML document in memory.
func Parse(b []byte) (Config, error) {
	var c Config
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return Config{}, fmt.Errorf("%w: line %d: key %q: %s", ErrConfig, perr.Position.Line, perr.LastKey, perr.Message)
			}
			return Config{}, fmt.Errorf("%w: line %d: %s", ErrConfig, perr.Position.Line, perr.Message)
		}
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return Config{}, fmt.Errorf("%w: %w %q on line %d%s", ErrConfig, bulwark.ErrUnknownKey, k.String(), keyLine(b, k), unknownKeyHint(k))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// unknownKeyHint explains an unknown key that is not a typo: a key of
// the gateway's first schema, or a library key the edge does not run.
func unknownKeyHint(k toml.Key) string {
	if h := movedHint(k); h != "" {
		return h
	}
	return libraryHint(k)
}

// movedHint names the new place of a key from the gateway's first
// schema, whose own sections the library's now replace.
func movedHint(k toml.Key) string {
	switch {
	case len(k) >= 2 && k[0] == "edge" && k[1] == "upload_paths":
		return " (now uploads.paths)"
	case len(k) >= 3 && k[0] == "tls" && k[1] == "acme" && k[2] == "cache_postgres_url":
		return " (now [cluster] store_env, shared with the other gateways)"
	case len(k) >= 1 && k[0] == "upload":
		return fmt.Sprintf(" (now %q)", "uploads"+strings.TrimPrefix(k.String(), "upload"))
	}
	return ""
}

// keyLine finds the line that defines key in a TOML document, for error
// messages (the decoder reports undecoded keys without positions). It
// follows [table] and [[array]] headers and dotted keys; 0 means not found.
func keyLine(src []byte, key toml.Key) int {
	want := key.String()
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if line[0] == '[' {
			h := strings.Trim(strings.SplitN(line, "]", 2)[0], "[ ")
			table = normKey(h)
			if table == want {
				return n
			}
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		full := normKey(name)
		if table != "" {
			full = table + "." + full
		}
		if full == want || strings.HasPrefix(want, full+".") {
			return n
		}
	}
	return 0
}

func normKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
