package gateway

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload"
)

// Config is the gateway's configuration: the server sections below plus the
// library configuration composed around the proxy. It is the struct behind
// the TOML file of "bulwark serve" (every field has a snake_case toml tag).
//
// The zero value of every section is the secure default documented on its
// fields; only Upstream.URL is required.
type Config struct {
	// Config is the library configuration composed by bulwark.New around
	// the proxy: [proxy] (trusted proxies; zero: none, every forwarded
	// header is stripped), [hosts] (zero: no host allowed, every request
	// refused with 400), [https] (zero: 301 redirect, one-year HSTS) and
	// [headers] (zero: nosniff, Referrer-Policy and COOP same-origin,
	// X-Frame-Options DENY). Its sections are top-level tables of the file.
	bulwark.Config

	// Limits are the request size limits (package limits). Zero: Django's
	// defaults and a 32 MiB body cap.
	Limits limits.Config `toml:"limits"`
	// CSRF is the Fetch Metadata / Origin check (package csrf) applied at
	// the edge on Edge.CSRFPaths. The token layer is always off at the
	// edge (InsecureSkipTokens is forced): the gateway cannot put tokens
	// in the upstream's pages; the upstream runs its own token check.
	CSRF csrf.Config `toml:"csrf"`
	// Upload is the content policy for Edge.UploadPaths (package upload).
	// Zero: PNG, JPEG, GIF, WebP and PDF, decided by content.
	Upload upload.Config `toml:"upload"`
	// Media serves a directory of user content on a host of its own
	// (package media). Zero: no media host. SiteHosts defaults to the
	// exact names of hosts.allowed.
	Media media.Config `toml:"media"`

	// Listen says where the gateway accepts connections.
	Listen ListenConfig `toml:"listen"`
	// TLS says where certificates come from: files, or ACME.
	TLS TLSConfig `toml:"tls"`
	// Upstream is the application behind the gateway.
	Upstream UpstreamConfig `toml:"upstream"`
	// Timeouts harden the servers against slow clients.
	Timeouts TimeoutsConfig `toml:"timeouts"`
	// Edge selects which paths get which edge-only protections, how
	// upstream cookies are hardened, and the media host.
	Edge EdgeConfig `toml:"edge"`
	// AccessLog configures the JSON access log.
	AccessLog AccessLogConfig `toml:"access_log"`
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

	// GetCertificate, when set (from Go only), supplies certificates
	// instead of files or ACME: a local CA, a test.
	GetCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error) `toml:"-"`
}

// ACMEConfig configures automatic certificates (RFC 8555), through
// golang.org/x/crypto/acme/autocert.
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
	// CacheDir stores account keys and certificates on disk (mode 0700).
	// Exactly one of CacheDir and CachePostgresURL must be set.
	CacheDir string `toml:"cache_dir"`
	// CachePostgresURL stores them in PostgreSQL, shared by several
	// gateways. A value of the form "env:NAME" reads the URL from the
	// environment variable NAME, so the password stays out of the file.
	CachePostgresURL string `toml:"cache_postgres_url"`
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

// EdgeConfig selects where the edge-only protections apply.
type EdgeConfig struct {
	// CSRFPaths are path prefixes on which unsafe requests (POST, PUT,
	// PATCH, DELETE) must pass the Fetch Metadata / Origin check. Empty
	// means "/" (every path). The token layer is off at the edge: the
	// upstream may run its own.
	CSRFPaths []string `toml:"csrf_paths"`
	// AllowInsecureNoCSRF disables the edge CSRF check entirely.
	AllowInsecureNoCSRF bool `toml:"allow_insecure_no_csrf"`
	// UploadPaths are path prefixes whose multipart bodies are spooled and
	// inspected (type by content, polyglots) before the upstream sees a
	// byte. Empty means none.
	UploadPaths []string `toml:"upload_paths"`
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
	if eff, err := c.Config.Effective(); err == nil {
		c.Config = eff
	}
	if c.Listen.HTTPS == "" {
		c.Listen.HTTPS = DefaultHTTPS
	}
	if c.Listen.HTTP == "" {
		c.Listen.HTTP = DefaultHTTP
	}
	if c.Listen.Admin == "" {
		c.Listen.Admin = DefaultAdmin
	}
	u := &c.Upstream
	u.HealthInterval = orDur(u.HealthInterval, DefaultHealthInterval)
	u.HealthTimeout = orDur(u.HealthTimeout, DefaultHealthTimeout)
	u.DialTimeout = orDur(u.DialTimeout, DefaultDialTimeout)
	u.ResponseHeaderTimeout = orDur(u.ResponseHeaderTimeout, DefaultResponseHeader)
	if u.MaxIdleConns == 0 {
		u.MaxIdleConns = DefaultMaxIdleConns
	}
	t := &c.Timeouts
	t.ReadHeader = orDur(t.ReadHeader, DefaultReadHeader)
	t.Read = orDur(t.Read, DefaultRead)
	t.Write = orDur(t.Write, DefaultWrite)
	t.Idle = orDur(t.Idle, DefaultIdle)
	t.Drain = orDur(t.Drain, DefaultDrain)
	if t.MaxHeaderBytes == 0 {
		t.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.Edge.CSRFPaths == nil && !c.Edge.AllowInsecureNoCSRF {
		c.Edge.CSRFPaths = []string{"/"}
	}
	if c.TLS.ACME.Enabled && len(c.TLS.ACME.Hosts) == 0 {
		c.TLS.ACME.Hosts = exactHosts(c.Hosts.Allowed)
	}
	// What the edge actually runs (see the CSRF field).
	c.CSRF.InsecureSkipTokens = true
	if c.Edge.Cookies.HTTPOnly == nil {
		c.Edge.Cookies.HTTPOnly = []string{"sessionid"}
	}
	return c
}

// ErrInvalidConfig is wrapped by every configuration error.
var ErrInvalidConfig = errors.New("gateway: invalid configuration")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// Validate reports the first problem in c (defaults applied first).
func (c Config) Validate() error {
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
		if (a.CacheDir == "") == (a.CachePostgresURL == "") {
			return invalid("tls.acme: set exactly one of cache_dir and cache_postgres_url")
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
	if c.Timeouts.MaxHeaderBytes < 0 {
		return invalid("timeouts.max_header_bytes must not be negative")
	}
	if c.Upstream.MaxIdleConns < 0 {
		return invalid("upstream.max_idle_conns must not be negative")
	}
	for _, p := range c.Edge.CSRFPaths {
		if !strings.HasPrefix(p, "/") {
			return invalid("edge.csrf_paths: %q must start with /", p)
		}
	}
	for _, p := range c.Edge.UploadPaths {
		if !strings.HasPrefix(p, "/") {
			return invalid("edge.upload_paths: %q must start with /", p)
		}
	}
	for _, n := range c.Edge.Cookies.HTTPOnly {
		if n == "" || strings.ContainsAny(n, "=; \t,") {
			return invalid("edge.cookies.http_only: %q is not a cookie name", n)
		}
	}
	return c.validateSections()
}

// validateSections validates the library sections as New will build them.
func (c Config) validateSections() error {
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("%w: [limits]: %w", ErrInvalidConfig, err)
	}
	cc := c.CSRF
	cc.InsecureSkipTokens = true
	if err := cc.Validate(); err != nil {
		return fmt.Errorf("%w: [csrf]: %w", ErrInvalidConfig, err)
	}
	if err := c.Upload.Validate(); err != nil {
		return fmt.Errorf("%w: [upload]: %w", ErrInvalidConfig, err)
	}
	if len(c.Media.Hosts) > 0 || c.Media.Dir != "" {
		mc := c.Media
		if len(mc.SiteHosts) == 0 {
			mc.SiteHosts = siteHosts(c.Hosts.Allowed)
		}
		if err := mc.Validate(); err != nil {
			return fmt.Errorf("%w: [media]: %w", ErrInvalidConfig, err)
		}
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

// siteHosts turns hosts.allowed patterns into the site names package
// media compares its hosts with.
func siteHosts(allowed []string) []string {
	var out []string
	for _, h := range allowed {
		h = strings.TrimPrefix(h, ".")
		if h != "" && h != "*" {
			out = append(out, h)
		}
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
				return Config{}, fmt.Errorf("%w: line %d: key %q: %s", ErrInvalidConfig, perr.Position.Line, perr.LastKey, perr.Message)
			}
			return Config{}, fmt.Errorf("%w: line %d: %s", ErrInvalidConfig, perr.Position.Line, perr.Message)
		}
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return Config{}, fmt.Errorf("%w: unknown key %q on line %d", ErrInvalidConfig, k.String(), keyLine(b, k))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
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
