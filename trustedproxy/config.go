package trustedproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
)

// The headers that can carry the client chain (Config.ClientHeader).
const (
	// HeaderXForwardedFor selects X-Forwarded-For: a comma-separated list
	// of addresses, each proxy appending the address of its own peer.
	HeaderXForwardedFor = "X-Forwarded-For"
	// HeaderForwarded selects the RFC 7239 Forwarded header: one element
	// per hop with for=, proto=, host= and by= parameters.
	HeaderForwarded = "Forwarded"
	// HeaderNone reads no client chain: the client is always the TCP peer,
	// even behind a trusted proxy. The SSL, host and port headers are still
	// honoured from trusted proxies.
	HeaderNone = "none"
)

// Limits on forwarded headers. A header beyond them is malformed: a proxy
// chain longer than MaxHops or a value larger than MaxHeaderBytes is not
// something a real deployment produces, and refusing it bounds the work
// done per request.
const (
	// MaxHops is the largest number of elements accepted in the client
	// chain, all header lines together.
	MaxHops = 64
	// MaxHeaderBytes is the largest size, all lines together, of any
	// forwarded header that is read.
	MaxHeaderBytes = 8 << 10
)

// Named sets accepted in Config.Trusted.
var namedSets = map[string][]string{
	// loopback: proxies on the same machine.
	"loopback": {"127.0.0.0/8", "::1/128"},
	// private: RFC 1918 networks and IPv6 unique local addresses.
	"private": {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"},
	// linklocal: RFC 3927 and IPv6 link-local addresses.
	"linklocal": {"169.254.0.0/16", "fe80::/10"},
}

// Config says which peers are trusted proxies and which headers they use.
// The zero Config trusts no one: every request's client is its TCP peer, its
// scheme comes from the connection (r.TLS) and its host from r.Host, and
// every forwarded header is ignored. That is the right setting for a server
// that faces the Internet directly.
type Config struct {
	// Trusted lists the networks of the proxies in front of this server,
	// as CIDR prefixes ("10.1.0.0/16", "2001:db8::/32"), bare addresses
	// ("192.0.2.7") or the named sets "loopback" (127.0.0.0/8, ::1),
	// "private" (10/8, 172.16/12, 192.168/16, fc00::/7) and "linklocal"
	// (169.254/16, fe80::/10). Forwarded headers are honoured only on
	// requests whose TCP peer is in one of them; from any other peer they
	// are ignored entirely.
	//
	// IPv4-mapped IPv6 entries ("::ffff:10.0.0.1", "::ffff:10.0.0.0/104")
	// are folded to IPv4, as peer addresses are. Zones ("fe80::1%eth0") are
	// an error. Empty (the default): no peer is trusted.
	Trusted []string `toml:"trusted"`

	// ClientHeader names the header that carries the client chain:
	// "X-Forwarded-For" (HeaderXForwardedFor), "Forwarded" (HeaderForwarded,
	// RFC 7239) or "none" (HeaderNone), case-insensitively. Empty (the
	// default) means X-Forwarded-For. Use the header your outermost
	// trusted proxy appends to; the other one is then ignored.
	//
	// The chain is walked from the right: trusted hops are skipped and the
	// client is the first untrusted address (the leftmost one if every hop
	// is trusted).
	ClientHeader string `toml:"client_header"`

	// SSLHeader and SSLHeaderValue are Django's SECURE_PROXY_SSL_HEADER:
	// when a trusted proxy sends SSLHeader, the request is https exactly
	// when the first comma-separated element of its value, trimmed of
	// spaces, equals SSLHeaderValue (case-sensitively); any other value,
	// empty included, makes it http. A present header overrides the
	// transport both ways. Without the header, the scheme comes from the
	// Forwarded proto= parameter (when ClientHeader is "Forwarded") or
	// from the connection.
	//
	// SSLHeader is a header name such as "X-Forwarded-Proto" (not Django's
	// META key "HTTP_X_FORWARDED_PROTO", which is an error naming the
	// header to use instead); names with "_" are refused, since some
	// servers treat "_" and "-" alike. SSLHeaderValue is required with
	// SSLHeader and must not contain a comma or surrounding spaces (it
	// could never match). Empty (the default): no SSL header.
	SSLHeader      string `toml:"ssl_header"`
	SSLHeaderValue string `toml:"ssl_header_value"`

	// UseForwardedHost is Django's USE_X_FORWARDED_HOST: the host of a
	// request from a trusted proxy is its X-Forwarded-Host header, used
	// verbatim (not split on commas, so "a.com, b.com" is then an invalid
	// host, and a present but empty header is an empty, invalid host).
	// When ClientHeader is "Forwarded", the host= parameter of the client's
	// element is used instead, and X-Forwarded-Host is ignored. Package
	// hosts validates the result. False (the default): the Host header.
	UseForwardedHost bool `toml:"use_forwarded_host"`

	// UseForwardedPort is Django's USE_X_FORWARDED_PORT: the port of a
	// request from a trusted proxy is its X-Forwarded-Port header, which
	// must be a decimal port in 1..65535 (anything else is malformed).
	// False (the default): the port of the local listener.
	UseForwardedPort bool `toml:"use_forwarded_port"`

	// Logger receives one "forwarded_malformed" event (Info) per request
	// refused, and two one-time warnings: "forwarded_untrusted_peer" when
	// an untrusted peer sends the configured forwarded headers (usually a
	// proxy missing from Trusted), "forwarded_header_missing" when a
	// trusted proxy sends no SSLHeader. Nil means slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// Sentinel errors for configuration problems; the returned errors wrap them
// and name the offending entry.
var (
	// ErrConfig is wrapped by every configuration error.
	ErrConfig = errors.New("trustedproxy: invalid configuration")
)

func configError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// Validate reports whether c is usable, naming the first bad entry.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

type chainKind uint8

const (
	chainXFF chainKind = iota
	chainForwarded
	chainNone
)

// compiled is the validated, precomputed form of a Config.
type compiled struct {
	prefixes   []netip.Prefix
	chain      chainKind
	sslHeader  string // canonical header key, "" when unset
	sslValue   string
	fwdHost    bool
	fwdPort    bool
	logger     *slog.Logger
	chainKey   string // canonical key of the chain header, "" for none
	headerKeys []string
}

func (c Config) compile() (*compiled, error) {
	out := &compiled{logger: c.Logger, fwdHost: c.UseForwardedHost, fwdPort: c.UseForwardedPort}
	if out.logger == nil {
		out.logger = slog.Default()
	}
	for _, entry := range c.Trusted {
		ps, err := parseTrusted(entry)
		if err != nil {
			return nil, err
		}
		out.prefixes = appendPrefixes(out.prefixes, ps...)
	}

	switch strings.ToLower(c.ClientHeader) {
	case "", "x-forwarded-for":
		out.chain, out.chainKey = chainXFF, HeaderXForwardedFor
	case "forwarded":
		out.chain, out.chainKey = chainForwarded, HeaderForwarded
	case "none":
		out.chain = chainNone
	default:
		return nil, configError("client_header %q: want %q, %q or %q", c.ClientHeader, HeaderXForwardedFor, HeaderForwarded, HeaderNone)
	}

	if c.SSLHeader != "" || c.SSLHeaderValue != "" {
		name, err := headerName(c.SSLHeader)
		if err != nil {
			return nil, err
		}
		v := c.SSLHeaderValue
		switch {
		case v == "":
			return nil, configError("ssl_header %q needs ssl_header_value (Django's SECURE_PROXY_SSL_HEADER is a (header, value) pair)", c.SSLHeader)
		case strings.ContainsRune(v, ','):
			// Only the first comma-separated element is compared, so a
			// value with a comma could never match.
			return nil, configError("ssl_header_value %q contains a comma and could never match", v)
		case strings.TrimSpace(v) != v || !printableASCII(v):
			return nil, configError("ssl_header_value %q has surrounding spaces or non-printable bytes and could never match", v)
		}
		out.sslHeader, out.sslValue = name, v
	}

	// Proxy options without a trusted network would be silently ignored
	// for every request: the scheme would always be http behind a TLS
	// proxy, the redirect would loop and CSRF would skip its Referer check.
	// Say so at start-up instead.
	if len(out.prefixes) == 0 {
		switch {
		case out.sslHeader != "":
			return nil, configError("ssl_header %q is set but trusted is empty: no peer could ever send it", c.SSLHeader)
		case c.UseForwardedHost:
			return nil, configError("use_forwarded_host is set but trusted is empty: no peer could ever send X-Forwarded-Host")
		case c.UseForwardedPort:
			return nil, configError("use_forwarded_port is set but trusted is empty: no peer could ever send X-Forwarded-Port")
		case c.ClientHeader != "" && out.chain != chainNone:
			return nil, configError("client_header %q is set but trusted is empty: no peer could ever send it", c.ClientHeader)
		}
	}

	// The headers whose presence from an untrusted peer suggests a proxy
	// missing from Trusted (see Resolver.warnUntrusted).
	if out.chainKey != "" {
		out.headerKeys = append(out.headerKeys, out.chainKey)
	}
	if out.sslHeader != "" {
		out.headerKeys = append(out.headerKeys, out.sslHeader)
	}
	if out.fwdHost {
		out.headerKeys = append(out.headerKeys, "X-Forwarded-Host")
	}
	return out, nil
}

// parseTrusted parses one Config.Trusted entry.
func parseTrusted(entry string) ([]netip.Prefix, error) {
	if set, ok := namedSets[strings.ToLower(entry)]; ok {
		ps := make([]netip.Prefix, len(set))
		for i, s := range set {
			ps[i] = netip.MustParsePrefix(s)
		}
		return ps, nil
	}
	if strings.ContainsRune(entry, '%') {
		return nil, configError("trusted entry %q: zones are not accepted (a zone names a local interface, not a network)", entry)
	}
	var p netip.Prefix
	if strings.ContainsRune(entry, '/') {
		var err error
		p, err = netip.ParsePrefix(entry)
		if err != nil {
			return nil, configError("trusted entry %q is not a CIDR prefix, an address or one of loopback, private, linklocal", entry)
		}
	} else {
		a, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, configError("trusted entry %q is not a CIDR prefix, an address or one of loopback, private, linklocal", entry)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	// Peer and chain addresses are unmapped before matching, so a mapped
	// entry must be folded too, or "::ffff:10.0.0.1" would never match.
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return []netip.Prefix{p.Masked()}, nil
}

func appendPrefixes(dst []netip.Prefix, ps ...netip.Prefix) []netip.Prefix {
	for _, p := range ps {
		dup := false
		for _, q := range dst {
			if q == p {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, p)
		}
	}
	return dst
}

// headerName validates a configured header name and returns its canonical
// form.
func headerName(name string) (string, error) {
	if strings.HasPrefix(name, "HTTP_") {
		hint := strings.ReplaceAll(strings.TrimPrefix(name, "HTTP_"), "_", "-")
		return "", configError("ssl_header %q is a Django META key: use the header name %q", name, http.CanonicalHeaderKey(hint))
	}
	if name == "" {
		return "", configError("ssl_header_value is set but ssl_header is empty")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' {
			// WSGI servers map "_" and "-" to the same META key, so an
			// underscore name invites spoofing through the other spelling.
			return "", configError("ssl_header %q contains '_': use '-'", name)
		}
		if !isTchar(c) {
			return "", configError("ssl_header %q is not a valid header name", name)
		}
	}
	return http.CanonicalHeaderKey(name), nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// isTchar reports whether c is an RFC 9110 token character.
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
