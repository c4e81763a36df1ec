package media

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Config configures a media Handler. The zero Config means no media
// host; to serve media, Hosts, SiteHosts and Dir are all required.
type Config struct {
	// Hosts are the host names (no port) the media is served on, matched
	// exactly, case-insensitively. Requests for any other host get 404.
	Hosts []string `toml:"hosts"`
	// SiteHosts are the application's own host names. New refuses a media
	// host that shares a registrable domain (eTLD+1) with any of them: a
	// subdomain of the site is same-site, so cookies scoped to the parent
	// domain reach it and a script it served could read or set them.
	SiteHosts []string `toml:"site_hosts"`
	// Dir is the directory of stored files. Files are opened through
	// os.Root: no path escapes it, symbolic links included.
	Dir string `toml:"dir"`
	// CrossOriginResourcePolicy is the Cross-Origin-Resource-Policy value.
	// Empty means "cross-origin", which lets the site (a different site by
	// construction) embed the media; "same-site" or "same-origin" forbid
	// embedding elsewhere but then also from the site.
	CrossOriginResourcePolicy string `toml:"cross_origin_resource_policy"`
	// Lookup returns each file's metadata. Nil means sidecar files written
	// with WriteSidecar.
	Lookup Lookup `toml:"-"`
	// Logger receives one Info event per refused request. Nil means
	// slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("media: invalid configuration")

// ErrInvalidConfig is ErrConfig.
//
// Deprecated: use ErrConfig, the name every package uses.
var ErrInvalidConfig = ErrConfig

// Enabled reports whether c configures a media host. The zero Config
// does not: it validates, and New refuses it.
func (c Config) Enabled() bool {
	return len(c.Hosts) > 0 || len(c.SiteHosts) > 0 || c.Dir != ""
}

// WithDefaults returns c with the defaults New applies filled in (the
// Cross-Origin-Resource-Policy): what "bulwark check" prints.
func (c Config) WithDefaults() Config {
	if c.CrossOriginResourcePolicy == "" {
		c.CrossOriginResourcePolicy = defaultCORP
	}
	return c
}

// defaultCORP lets other sites embed the files (the site's pages are on
// another origin by design).
const defaultCORP = "cross-origin"

// Validate reports the first problem in c. The zero Config (media
// disabled) is valid.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if len(c.Hosts) == 0 {
		return fmt.Errorf("%w: hosts is required", ErrConfig)
	}
	if len(c.SiteHosts) == 0 {
		return fmt.Errorf("%w: site_hosts is required to check that media is on another site", ErrConfig)
	}
	if c.Dir == "" {
		return fmt.Errorf("%w: dir is required", ErrConfig)
	}
	switch c.CrossOriginResourcePolicy {
	case "", "cross-origin", "same-site", "same-origin":
	default:
		return fmt.Errorf("%w: cross_origin_resource_policy %q", ErrConfig, c.CrossOriginResourcePolicy)
	}
	// A site host the public suffix list cannot read (".example.com",
	// "*.example.com", "example.com:8000") would compare as another site
	// below and let a same-site media host through: refuse it instead.
	for _, s := range c.SiteHosts {
		if !plainHost(s) {
			return fmt.Errorf("%w: site host %q: a host name without port or pattern", ErrConfig, s)
		}
	}
	for _, m := range c.Hosts {
		if !plainHost(m) {
			return fmt.Errorf("%w: media host %q: a host name without port", ErrConfig, m)
		}
		for _, s := range c.SiteHosts {
			if sameSite(m, s) {
				return fmt.Errorf("%w: media host %q shares the registrable domain of site host %q: serve media from a different registrable domain (a subdomain is not enough)", ErrConfig, m, s)
			}
		}
	}
	return nil
}

// plainHost reports whether h is a host name or IP address (an IPv6 one
// bracketed or not), with no port, path, wildcard or leading dot.
func plainHost(h string) bool {
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		h = h[1 : len(h)-1]
	}
	return h != "" && h[0] != '.' && (!strings.ContainsAny(h, ":/ *") || net.ParseIP(h) != nil)
}

// sameSite reports whether a and b share a registrable domain (eTLD+1 by
// the public suffix list); hosts without one (IP addresses, "localhost")
// are the same site only when equal.
func sameSite(a, b string) bool {
	a, b = strings.ToLower(strings.TrimSuffix(a, ".")), strings.ToLower(strings.TrimSuffix(b, "."))
	if a == b {
		return true
	}
	ra, err1 := publicsuffix.EffectiveTLDPlusOne(a)
	rb, err2 := publicsuffix.EffectiveTLDPlusOne(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return ra == rb
}

// Handler serves stored user content safely.
type Handler struct {
	hosts  map[string]bool
	root   *os.Root
	lookup Lookup
	corp   string
	lg     *slog.Logger
}

// New validates c, opens c.Dir as an os.Root and returns the Handler.
// Close releases the root.
func New(c Config) (*Handler, error) {
	if !c.Enabled() {
		return nil, fmt.Errorf("%w: hosts, site_hosts and dir are required", ErrConfig)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	h := &Handler{hosts: map[string]bool{}, root: root, lookup: c.Lookup, corp: c.CrossOriginResourcePolicy, lg: c.Logger}
	for _, m := range c.Hosts {
		h.hosts[strings.ToLower(strings.TrimSuffix(m, "."))] = true
	}
	if h.lookup == nil {
		h.lookup = sidecars{root}
	}
	if h.corp == "" {
		h.corp = defaultCORP
	}
	if h.lg == nil {
		h.lg = slog.Default()
	}
	return h, nil
}

// Close closes the media root.
func (h *Handler) Close() error { return h.root.Close() }

// inline lists the types shown inline: raster images, which browsers
// render without running anything. Everything else, SVG and HTML
// included, is an attachment.
var inline = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/avif": true}

// ServeHTTP serves the file named by the URL path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := hostOf(r)
	if !h.hosts[host] {
		h.refuse(w, r, http.StatusNotFound, "media_wrong_host", "wrong_host")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.refuse(w, r, http.StatusMethodNotAllowed, "media_method", "method_not_allowed")
		return
	}
	name, ok := cleanName(r.URL.Path)
	if !ok {
		h.refuse(w, r, http.StatusNotFound, "media_bad_path", "bad_path")
		return
	}
	f, err := h.root.Open(name)
	if err != nil {
		// Escapes (.. or symlinks out of the root) fail here too.
		h.refuse(w, r, http.StatusNotFound, "media_not_found", "not_found")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		// Directories are never listed; devices and pipes never read.
		h.refuse(w, r, http.StatusNotFound, "media_not_found", "not_found")
		return
	}
	meta, err := h.lookup.Lookup(r.Context(), name)
	if err != nil {
		meta = Meta{}
	}
	typ := meta.Type
	if mt, _, err := mime.ParseMediaType(typ); err != nil || mt != typ || typ == "" {
		typ = "application/octet-stream"
	}
	hd := w.Header()
	hd.Set("Content-Type", typ)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hd.Set("Cross-Origin-Resource-Policy", h.corp)
	hd.Set("Content-Disposition", disposition(inline[typ], meta.Filename, name))
	hd.Set("ETag", `"`+strconv.FormatInt(fi.ModTime().UnixNano(), 36)+"-"+strconv.FormatInt(fi.Size(), 36)+`"`)
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// disposition builds Content-Disposition: inline or attachment, with an
// ASCII fallback filename and the exact name RFC 5987-encoded.
func disposition(inline bool, display, stored string) string {
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	if display == "" {
		display = stored[strings.LastIndexByte(stored, '/')+1:]
	}
	fallback := []byte(display)
	ascii := true
	for i, c := range fallback {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '%' || c == ';' {
			fallback[i] = '_'
			ascii = false
		}
	}
	v := kind + `; filename="` + string(fallback) + `"`
	if !ascii {
		v += "; filename*=UTF-8''" + strings.ReplaceAll(url.PathEscape(display), "+", "%2B")
	}
	return v
}

// cleanName validates a request path as a stored name: non-empty
// segments, none starting with "." (no dotfiles, ".", ".."), no
// backslash, NUL, control character or ":" (drive letters, streams), no
// trailing slash, at most 1024 bytes.
func cleanName(p string) (string, bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || len(p) > 1024 {
		return "", false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg[0] == '.' {
			return "", false
		}
	}
	for _, c := range []byte(p) {
		if c < 0x20 || c == 0x7f || c == '\\' || c == ':' {
			return "", false
		}
	}
	return p, true
}

func hostOf(r *http.Request) string {
	raw, ok := hosts.Host(r)
	if !ok {
		raw = trustedproxy.Host(r)
	}
	d, _ := hosts.SplitDomainPort(raw)
	return strings.TrimSuffix(d, ".")
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, event, reason string) {
	refusal.Log(h.lg, r, "media request refused", event, reason)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.Error(w, http.StatusText(status), status)
}
