package bulwark

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Config is the whole of Bulwark's configuration: one section per package,
// the same struct behind the Go API and the TOML file (see LoadConfig). The
// zero Config is a secure one, and refuses every request until Hosts.Allowed
// names the site.
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

	// Logger receives every refusal event of every layer whose own Logger
	// is nil. Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// middleware is what every layer builds.
type middleware interface {
	Handler(http.Handler) http.Handler
}

// layer is one step of the chain: the TOML key of its section and how to
// build it.
type layer struct {
	key   string
	build func() (middleware, error)
}

// section adapts a package's New to a layer.
func section[C any, M middleware](key string, build func(C) (M, error), c C) layer {
	return layer{key, func() (middleware, error) {
		m, err := build(c)
		if err != nil {
			return nil, err
		}
		return m, nil
	}}
}

// layers lists the chain, outermost first. Adding a package is one line.
//
// headers comes first so that every response Bulwark produces carries the
// security headers, its own refusals and redirects included, as Django's
// SecurityMiddleware (first in MIDDLEWARE) adds them to every response. It
// reads no request facts, so its place does not change what the others
// see. Then the request facts in dependency order: trustedproxy
// establishes the client, scheme and host; hosts validates the host;
// httpsonly redirects to that validated host.
func (c Config) layers() []layer {
	return []layer{
		section("headers", headers.New, c.Headers),
		section("proxy", trustedproxy.New, c.Proxy),
		section("hosts", hosts.New, c.Hosts),
		section("https", httpsonly.New, c.HTTPS),
	}
}

// withLogger gives c.Logger to every section without a Logger of its own.
func (c Config) withLogger() Config {
	if c.Logger == nil {
		return c
	}
	if c.Proxy.Logger == nil {
		c.Proxy.Logger = c.Logger
	}
	if c.Hosts.Logger == nil {
		c.Hosts.Logger = c.Logger
	}
	if c.HTTPS.Logger == nil {
		c.HTTPS.Logger = c.Logger
	}
	return c
}

// Bulwark is the composed chain, built by New. It is immutable and safe for
// concurrent use; to change the configuration, build a new one and swap
// the handler.
type Bulwark struct {
	layers []middleware
}

// New validates every section of c and builds the chain. The error reports
// every invalid section (errors.Join), each prefixed with its TOML key.
func New(c Config) (*Bulwark, error) {
	c = c.withLogger()
	b := &Bulwark{}
	var errs []error
	for _, l := range c.layers() {
		m, err := l.build()
		if err != nil {
			errs = append(errs, fmt.Errorf("bulwark: [%s]: %w", l.key, err))
			continue
		}
		b.layers = append(b.layers, m)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// Validate reports every problem with c, as New does, without building it.
func (c Config) Validate() error {
	_, err := New(c)
	return err
}

// Handler returns next wrapped in the whole chain: headers, trusted
// proxies, host validation, HTTPS, in that order.
func (b *Bulwark) Handler(next http.Handler) http.Handler {
	h := next
	for i := len(b.layers) - 1; i >= 0; i-- {
		h = b.layers[i].Handler(h)
	}
	return h
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

// Effective validates c and returns it with the defaults of every section
// filled in: what New will actually do. It is what "bulwark check" prints
// and what the configuration golden files record.
func (c Config) Effective() (Config, error) {
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	c.HTTPS = c.HTTPS.WithDefaults()
	c.Headers = c.Headers.WithDefaults()
	return c, nil
}
