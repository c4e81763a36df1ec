package audit

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/httpsonly"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/signing"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Deployment is everything CheckDeployment looks at: the library
// configuration, the layers an application composes beside bulwark.New
// (or instead of it), and the server around them.
//
// A nil layer field means the layer is the one bulwark.New builds from
// Config's section (Config.CSRF, Config.Session, Config.Limits,
// Config.Uploads, Config.Media). Set a field to lint a layer built with its
// package's New directly; set NoCSRF when the application runs no csrf
// layer at all (Django's security.W003).
type Deployment struct {
	// Config is the root configuration.
	Config bulwark.Config

	// CSRF is the csrf layer's configuration. Nil: Config.CSRF. Set
	// UseSessions without Sessions freely: the store is not part of a
	// lint.
	CSRF *csrf.Config
	// NoCSRF says the application runs no csrf layer (BW026). bulwark.New
	// always builds one; an application composing the packages itself
	// may leave it out.
	NoCSRF bool
	// Session is the session manager's configuration (its cookie is
	// looked at). Nil: Config.Session.
	Session *session.Config
	// Signing holds the secret key and its fallbacks (Django's
	// SECRET_KEY, SECRET_KEY_FALLBACKS). Nil: the deployment signs
	// nothing through package signing, so no key checks (the root
	// configuration has no key).
	Signing *signing.Config
	// Limits is the request limits layer. Nil: Config.Limits.
	Limits *limits.Config
	// Upload is the upload layer (content policy, storage). Nil:
	// Config.Uploads when it names paths, else no upload layer.
	Upload *upload.Config
	// Media is the media host. Nil: Config.Media (a zero one is none).
	Media *media.Config

	// Server describes the server around the chain (the gateway); nil
	// means the chain runs inside an application's own server, which
	// Check cannot see.
	Server *Server

	// SkipFiles leaves out every check that reads a file the
	// configuration names (certificates and keys, the media root, secret
	// key files), for a check run in CI, away from the machine that has
	// them; one BW114 finding lists what was not read.
	SkipFiles bool
}

// layers fills the nil layer fields from d.Config.
func (d Deployment) layers() Deployment {
	c := &d.Config
	if d.CSRF == nil && !d.NoCSRF {
		d.CSRF = &c.CSRF
	}
	if d.NoCSRF {
		d.CSRF = nil
	}
	if d.Session == nil {
		d.Session = &c.Session
	}
	if d.Limits == nil {
		d.Limits = &c.Limits
	}
	if d.Upload == nil && len(c.Uploads.Paths) > 0 {
		d.Upload = &c.Uploads.Config
	}
	if d.Media == nil {
		d.Media = &c.Media
	}
	return d
}

// Server is what Check looks at in the server that runs the chain: the
// gateway's listeners, certificates, upstream and timeouts. Zero durations
// and empty addresses mean the server's defaults, as in the gateway.
type Server struct {
	// Validate, when set, is the server's own validation (the gateway's
	// Config.Validate); its error is reported as BW101, unless it repeats
	// an Error finding already made: an error about one key of the
	// server's configuration says which with a method Key() string
	// ("https.redirect_port"), and is then left out when that key has an
	// Error finding (the message's words are not compared).
	Validate func() error

	// AdminAddr is the metrics and health listener ("off" or empty:
	// none, or the server's loopback default).
	AdminAddr string
	// CertFile and KeyFile are the certificate files (empty with ACME).
	CertFile, KeyFile string
	// ACMEHosts are the hosts certificates are requested for; nil when
	// ACME is off.
	ACMEHosts []string
	// UpstreamURL is the application behind the server.
	UpstreamURL string
	// UpstreamInsecureSkipVerify is set when an https upstream's
	// certificate is not verified.
	UpstreamInsecureSkipVerify bool
	// ReadHeaderTimeout and IdleTimeout are the public servers'
	// timeouts.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// NoCSRF is set when the server's own CSRF check is switched off.
	NoCSRF bool
	// NoSameSite is set when upstream cookies without SameSite are passed
	// on unchanged.
	NoSameSite bool
	// AdminProfiling is set when the admin listener serves Go's runtime
	// profiles.
	AdminProfiling bool
	// UnderscoreHeaders are the header names with '_' the server
	// forwards (all others it drops).
	UnderscoreHeaders []string
	// ClusterStore is the cluster store's URL as written in the file
	// (empty when it comes from the environment or there is none).
	ClusterStore string
	// ClusterEnabled is set when a cluster store is configured (in the
	// file or the environment).
	ClusterEnabled bool
	// ClusterTicketsShared is set when session tickets are shared through
	// the cluster store.
	ClusterTicketsShared bool
	// ClusterTimeout bounds each call to the cluster store.
	ClusterTimeout time.Duration
	// StreamPaths are the paths whose request bodies the server streams
	// to the upstream instead of buffering them.
	StreamPaths []string
	// HTTPAddr and HTTPSAddr are the plain-HTTP and HTTPS listeners
	// ("host:port"; HTTPAddr "off" or empty: none).
	HTTPAddr, HTTPSAddr string
	// RedirectPort is the port the HTTP listener redirects to (0: the
	// request's own port, or unknown).
	RedirectPort int
	// HealthPublicLive is set when a public health path checks the
	// upstream at every request for any client (no network limit).
	HealthPublicLive bool

	// Now is the time certificates are checked against; zero means
	// time.Now.
	Now time.Time
}

// Check lints the configuration of bulwark.New as Django's check --deploy
// lints settings: every section, and the rules across sections that New
// enforces. Use CheckDeployment to add a secret key, layers composed
// outside bulwark.New, or the server. The findings come in section order;
// a configuration New refuses is reported with BW001 (or the specific rule
// that explains it), never silently skipped.
func Check(cfg bulwark.Config) []Finding {
	return CheckDeployment(Deployment{Config: cfg})
}

// checkComposed reports what bulwark.New refuses beyond the sections
// checked one by one (rules across sections), one BW001 per error not
// already reported.
func checkComposed(fs *[]Finding, cfg bulwark.Config) {
	err := cfg.Validate()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		if reported(*fs, e) {
			continue
		}
		f := find("BW001", e.Error())
		f.Key = ""
		f.fileErr = isFileError(e)
		// Errors of a section say which one.
		var se interface{ Section() string }
		if errors.As(e, &se) {
			f.Key = se.Section()
		}
		*fs = append(*fs, f)
	}
}

// CheckDeployment lints d: the root configuration, every layer that is set
// and, with d.Server, the server around them.
func CheckDeployment(d Deployment) []Finding {
	var fs []Finding
	var skipped []string
	if cfg, ok := withGoStore(d.Config); ok {
		d.Config = cfg
		fs = append(fs, find("BW041", "the file configures sessions but names no store (a program sets Config.Session.Store or CookieStore in Go): checked as if it were set"))
	}
	d = d.layers()
	checkConfig(&fs, &d.Config)
	checkSigning(&fs, d.Signing)
	checkSigningSources(&fs, d.Config.Signing, d.SkipFiles, &skipped)
	checkCSRF(&fs, d)
	checkSession(&fs, d.Session)
	checkLimits(&fs, d.Limits)
	checkUpload(&fs, d)
	checkMedia(&fs, d)
	checkComposed(&fs, d.Config)
	if d.Server != nil {
		checkServer(&fs, d, &skipped)
	}
	if d.SkipFiles {
		fs = slices.DeleteFunc(fs, func(f Finding) bool {
			if f.fileErr && !slices.Contains(skipped, f.Key) {
				skipped = append(skipped, f.Key)
			}
			return f.fileErr
		})
		if len(skipped) > 0 {
			fs = append(fs, findf("BW114", "not read (--skip-files): %s", strings.Join(skipped, ", ")))
		}
	}
	for i := range fs {
		fs[i].fileErr = false
	}
	return fs
}

func checkConfig(fs *[]Finding, c *bulwark.Config) {
	checkSections(fs, c)
	securityOff := checkSecurityOff(fs, c)
	checkHSTS(fs, c.HTTPS, securityOff)
	checkRedirect(fs, c.HTTPS, securityOff)
	checkHeaders(fs, c.Headers, securityOff)
	checkHosts(fs, c)
	checkProxy(fs, c)
}

// checkSections validates the sections checked one by one: one finding
// per problem.
func checkSections(fs *[]Finding, c *bulwark.Config) {
	h := c.Headers
	// Referrer and COOP values are validated alone so that each bad value
	// has its own finding with Django's ID (E023, E024); the rest of the
	// section is then validated without them, so that no problem is
	// reported twice and none is lost.
	rest := h
	if err := (headers.Config{ReferrerPolicy: h.ReferrerPolicy}).Validate(); err != nil && !h.InsecureOmitReferrerPolicy {
		*fs = append(*fs, find("BW013", err.Error()))
		rest.ReferrerPolicy = nil
	}
	if err := (headers.Config{CrossOriginOpenerPolicy: h.CrossOriginOpenerPolicy}).Validate(); err != nil && !h.InsecureOmitCrossOriginOpenerPolicy {
		*fs = append(*fs, find("BW015", err.Error()))
		rest.CrossOriginOpenerPolicy = ""
	}
	proxyErr := c.Proxy.Validate()
	// Forwarded headers without a trusted network: trustedproxy refuses
	// the combination; BW035 explains it (an error when that is the
	// section's only problem, a warning when a later version accepts
	// it).
	if f, ok := forwardedWithoutTrust(c); ok {
		if proxyErr != nil && forwardless(c.Proxy).Validate() == nil {
			f.Severity = Error
			f.Message = proxyErr.Error()
			proxyErr = nil
		}
		*fs = append(*fs, f)
	}
	for _, s := range []struct {
		key string
		err error
	}{
		{"proxy", proxyErr},
		{"hosts", c.Hosts.Validate()},
		{"https", c.HTTPS.Validate()},
		{"headers", rest.Validate()},
	} {
		if s.err != nil {
			f := find("BW001", s.err.Error())
			f.Key = s.key
			*fs = append(*fs, f)
		}
	}
}

// checkSecurityOff reports the security layer switched off as a whole.
// Django reports its absence once (W001) instead of each header; so do we
// when every part is off, and the parts then say nothing more.
func checkSecurityOff(fs *[]Finding, c *bulwark.Config) bool {
	h, hs := c.Headers, c.HTTPS
	securityOff := hs.AllowInsecureHTTP && hs.InsecureDisableHSTS && h.InsecureAllowSniffing && h.InsecureOmitReferrerPolicy
	if securityOff {
		*fs = append(*fs, find("BW002", "https.allow_insecure_http, https.insecure_disable_hsts, headers.insecure_allow_sniffing and headers.insecure_omit_referrer_policy are all set"))
	}
	return securityOff
}

// checkHSTS reports a disabled, short or narrow HSTS policy.
func checkHSTS(fs *[]Finding, hs httpsonly.Config, securityOff bool) {
	switch {
	case hs.InsecureDisableHSTS:
		if !securityOff {
			*fs = append(*fs, find("BW003", "https.insecure_disable_hsts is set: no Strict-Transport-Security header is sent"))
		}
	default:
		age := hs.HSTSMaxAge
		if age == 0 {
			age = hstsYear
		}
		if age > 0 && age < hstsYear {
			*fs = append(*fs, findf("BW004", "hsts_max_age is %v (%d seconds); browsers forget the policy after that", hs.HSTSMaxAge, int64(age/time.Second)))
		}
		if !hs.HSTSIncludeSubdomains {
			*fs = append(*fs, find("BW005", "hsts_include_subdomains is not set"))
		}
		if !hs.HSTSPreload {
			*fs = append(*fs, find("BW006", "hsts_preload is not set"))
		}
	}
}

// checkRedirect reports a disabled or leaky HTTPS redirect.
func checkRedirect(fs *[]Finding, hs httpsonly.Config, securityOff bool) {
	if hs.AllowInsecureHTTP {
		if !securityOff {
			*fs = append(*fs, find("BW007", "https.allow_insecure_http is set"))
		}
	} else {
		if len(hs.Exempt) > 0 {
			*fs = append(*fs, findf("BW008", "%d exempt pattern(s): %q", len(hs.Exempt), hs.Exempt))
		}
		if !hs.RefuseUnsafeMethods && hs.RedirectStatus != 308 {
			*fs = append(*fs, find("BW038", "refuse_unsafe_methods is not set and redirect_status is 301"))
		}
	}
}

// checkHeaders reports weakened response headers and CSP problems.
func checkHeaders(fs *[]Finding, h headers.Config, securityOff bool) {
	if h.InsecureAllowSniffing && !securityOff {
		*fs = append(*fs, find("BW009", "headers.insecure_allow_sniffing is set"))
	}
	framed := h.InsecureAllowFraming || strings.EqualFold(h.FrameOptions, "SAMEORIGIN")
	switch {
	case framed && hasDirective(h.CSP, "frame-ancestors"):
		// frame-ancestors supersedes X-Frame-Options in every browser
		// that implements CSP 2; it is the finer tool.
	case h.InsecureAllowFraming:
		*fs = append(*fs, find("BW010", "headers.insecure_allow_framing is set and the CSP has no frame-ancestors"))
	case strings.EqualFold(h.FrameOptions, "SAMEORIGIN"):
		*fs = append(*fs, findf("BW011", "frame_options is %q", h.FrameOptions))
	}
	if h.InsecureOmitReferrerPolicy {
		if !securityOff {
			*fs = append(*fs, find("BW012", "headers.insecure_omit_referrer_policy is set"))
		}
	} else if weak := weakReferrer(h.ReferrerPolicy); weak != "" {
		*fs = append(*fs, findf("BW014", "referrer_policy includes %q", weak))
	}
	if h.InsecureOmitCrossOriginOpenerPolicy || h.CrossOriginOpenerPolicy == "unsafe-none" {
		*fs = append(*fs, find("BW016", "the Cross-Origin-Opener-Policy is omitted or unsafe-none"))
	}
	checkCSP(fs, h)
}

// checkHosts reports an allow-list that allows too much or nothing, and
// the development modes.
func checkHosts(fs *[]Finding, c *bulwark.Config) {
	hc := c.Hosts
	if len(hc.Allowed) == 0 {
		*fs = append(*fs, find("BW021", "hosts.allowed is empty"))
	}
	for _, a := range hc.Allowed {
		if a == "*" && hc.AllowInsecureAnyHost {
			*fs = append(*fs, find("BW022", `hosts.allowed contains "*" and allow_insecure_any_host is set`))
			break
		}
	}
	if hc.Development {
		*fs = append(*fs, find("BW023", "hosts.development is set"))
	}
	if c.CSRF.Development {
		*fs = append(*fs, find("BW060", "csrf.development is set"))
	}
}

const hstsYear = 365 * 24 * time.Hour

// weakReferrer returns the first token of list that sends full URLs
// across origins, or "".
func weakReferrer(list []string) string {
	for _, item := range list {
		for _, t := range strings.Split(item, ",") {
			switch t = strings.TrimSpace(t); t {
			case "unsafe-url", "no-referrer-when-downgrade":
				return t
			}
		}
	}
	return ""
}

func hasDirective(p headers.Policy, name string) bool {
	for _, d := range p {
		if strings.EqualFold(d.Name, name) {
			return true
		}
	}
	return false
}

// scriptSources returns the values of the directive that governs scripts:
// script-src, else default-src.
func scriptSources(p headers.Policy) ([]string, bool) {
	var def []string
	var hasDef bool
	for _, d := range p {
		switch strings.ToLower(d.Name) {
		case "script-src":
			return d.Values, true
		case "default-src":
			def, hasDef = d.Values, true
		}
	}
	return def, hasDef
}

func checkCSP(fs *[]Finding, h headers.Config) {
	if len(h.CSP) == 0 {
		*fs = append(*fs, find("BW017", "headers.csp is empty"))
	}
	for _, pol := range []struct {
		key string
		p   headers.Policy
	}{{"headers.csp", h.CSP}, {"headers.csp_report_only", h.CSPReportOnly}} {
		if len(pol.p) == 0 {
			continue
		}
		if srcs, ok := scriptSources(pol.p); ok {
			if inline, weak := cspWeakness(srcs); inline != "" || weak != "" {
				if inline != "" {
					f := findf("BW018", "the script sources of %s include %s", pol.key, inline)
					f.Key = pol.key
					*fs = append(*fs, f)
				}
				if weak != "" {
					f := findf("BW019", "the script sources of %s include %s", pol.key, weak)
					f.Key = pol.key
					*fs = append(*fs, f)
				}
			}
		}
		if usesNonce(pol.p) {
			f := findf("BW020", "%s contains the nonce sentinel", pol.key)
			f.Key = pol.key
			*fs = append(*fs, f)
		}
	}
}

// cspWeakness classifies a script source list. 'unsafe-inline' is ignored
// by browsers when a nonce, a hash or 'strict-dynamic' is present (CSP
// Level 3), so it only counts without them; with 'strict-dynamic', host
// and scheme sources are ignored too.
func cspWeakness(srcs []string) (inline, weak string) {
	var hasNonceOrHash, strictDynamic bool
	for _, s := range srcs {
		ls := strings.ToLower(s)
		switch {
		case s == headers.NonceSentinel || s == "'"+headers.NonceSentinel+"'",
			strings.HasPrefix(ls, "'nonce-"), strings.HasPrefix(ls, "'sha256-"),
			strings.HasPrefix(ls, "'sha384-"), strings.HasPrefix(ls, "'sha512-"):
			hasNonceOrHash = true
		case ls == "'strict-dynamic'":
			strictDynamic = true
		}
	}
	for _, s := range srcs {
		switch ls := strings.ToLower(s); ls {
		case "'unsafe-inline'":
			if !hasNonceOrHash && !strictDynamic && inline == "" {
				inline = s
			}
		case "'unsafe-eval'":
			if weak == "" {
				weak = s
			}
		case "*", "http:", "https:", "data:", "blob:", "filesystem:":
			if !strictDynamic && weak == "" {
				weak = s
			}
		}
	}
	return inline, weak
}

func usesNonce(p headers.Policy) bool {
	for _, d := range p {
		for _, v := range d.Values {
			if v == headers.NonceSentinel || v == "'"+headers.NonceSentinel+"'" {
				return true
			}
		}
	}
	return false
}

func checkProxy(fs *[]Finding, c *bulwark.Config) {
	p := c.Proxy
	for _, t := range p.Trusted {
		if why := tooBroad(t); why != "" {
			*fs = append(*fs, findf("BW034", "proxy.trusted entry %q %s", t, why))
		}
	}
}

// forwardedWithoutTrust returns BW035 when a forwarded header is
// configured but no network is trusted to send it.
// forwardless is p without the settings that read forwarded headers.
func forwardless(p trustedproxy.Config) trustedproxy.Config {
	p.SSLHeader, p.SSLHeaderValue = "", ""
	p.UseForwardedHost, p.UseForwardedPort = false, false
	return p
}

func forwardedWithoutTrust(c *bulwark.Config) (Finding, bool) {
	p := c.Proxy
	if len(p.Trusted) > 0 {
		return Finding{}, false
	}
	var set []string
	if p.SSLHeader != "" {
		set = append(set, "ssl_header")
	}
	if p.UseForwardedHost {
		set = append(set, "use_forwarded_host")
	}
	if p.UseForwardedPort {
		set = append(set, "use_forwarded_port")
	}
	if len(set) == 0 {
		return Finding{}, false
	}
	f := findf("BW035", "proxy.%s set but proxy.trusted is empty", strings.Join(set, ", proxy."))
	f.Key = "proxy." + set[0]
	return f, true
}

// tooBroad says why a trusted-network entry trusts far more than a proxy
// tier: any prefix of public address space shorter than /16 (IPv4) or
// /32 (IPv6), which is every peer on a large part of the Internet. Named
// sets and private prefixes are not flagged: they are the deployments'
// own networks.
func tooBroad(entry string) string {
	p, err := netip.ParsePrefix(strings.TrimSpace(entry))
	if err != nil {
		return "" // an address, a named set, or invalid (BW001 reports it)
	}
	p = p.Masked()
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		a = a.Unmap()
		p = netip.PrefixFrom(a, p.Bits()-96)
	}
	if p.Bits() == 0 {
		return "trusts every address: any client can forge X-Forwarded-For, the scheme and the host"
	}
	if a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return ""
	}
	if (a.Is4() && p.Bits() < 16) || (a.Is6() && p.Bits() < 32) {
		return fmt.Sprintf("covers %s public addresses (/%d)", map[bool]string{true: "millions of", false: "a vast range of"}[a.Is4()], p.Bits())
	}
	return ""
}

// weakKey is Django's W009 rule: fewer than 50 characters, fewer than 5
// distinct characters, or the prefix of keys Django generates for
// development. Characters are counted as Python counts a str: code points
// (bytes, when the key is not UTF-8).
func weakKey(k []byte) bool {
	n := len(k)
	distinct := map[rune]bool{}
	if utf8.Valid(k) {
		n = utf8.RuneCount(k)
		for _, r := range string(k) {
			distinct[r] = true
		}
	} else {
		for _, b := range k {
			distinct[rune(b)] = true
		}
	}
	return n < 50 || len(distinct) < 5 || strings.HasPrefix(string(k), "django-insecure-")
}

func checkSigning(fs *[]Finding, s *signing.Config) {
	if s == nil {
		return
	}
	err := s.Validate()
	if weakKey(s.Key) {
		f := find("BW024", "signing.key is weak")
		if len(s.Key) == 0 {
			// A missing key is the validation error itself: the signer
			// cannot be built.
			f.Severity = Error
			f.Message = "signing.key is empty"
			if err != nil {
				f.Message = err.Error()
			}
		}
		*fs = append(*fs, f)
	}
	for i, k := range s.FallbackKeys {
		if weakKey(k) {
			f := findf("BW025", "signing.fallback_keys[%d] is weak", i)
			f.Key = fmt.Sprintf("signing.fallback_keys[%d]", i)
			*fs = append(*fs, f)
		}
	}
	if err != nil && !errors.Is(err, signing.ErrNoKey) {
		f := find("BW001", err.Error())
		f.Key = "signing"
		*fs = append(*fs, f)
	}
}

func checkCSRF(fs *[]Finding, d Deployment) {
	c := d.CSRF
	if c == nil {
		if d.Server == nil { // the gateway reports its own switch (BW111)
			*fs = append(*fs, find("BW026", "the deployment has no csrf layer"))
		}
		return
	}
	vc := *c
	if vc.UseSessions && vc.Sessions == nil {
		vc.UseSessions = false // the store is not part of a lint
	}
	if err := vc.Validate(); err != nil {
		f := find("BW001", err.Error())
		f.Key = "csrf"
		*fs = append(*fs, f)
	}
	if c.InsecureSkipTokens && d.Server == nil {
		*fs = append(*fs, find("BW027", "csrf.insecure_skip_tokens is set"))
	}
	if !c.InsecureSkipTokens && !c.UseSessions {
		hs := d.Config.HTTPS
		// Over HTTPS the cookie is always Secure; it can only go out
		// without the flag on a plain-HTTP response, which the redirect
		// rules out unless it is off or has exemptions.
		if !c.CookieSecure && (hs.AllowInsecureHTTP || len(hs.Exempt) > 0) {
			*fs = append(*fs, find("BW028", "csrf.cookie_secure is not set and plain-HTTP responses are served"))
		}
		if c.InsecureUnprefixedCookie {
			*fs = append(*fs, find("BW029", "csrf.insecure_unprefixed_cookie is set"))
		}
	}
	for _, o := range c.TrustedOrigins {
		if strings.HasPrefix(strings.ToLower(o), "http://") {
			*fs = append(*fs, findf("BW030", "trusted origin %q is plain http", o))
		}
	}
}

func checkSession(fs *[]Finding, s *session.Config) {
	if s == nil {
		return
	}
	ck := s.Cookie
	if err := ck.Validate(); err != nil {
		f := find("BW001", err.Error())
		f.Key = "session.cookie"
		*fs = append(*fs, f)
	}
	if ck.AllowInsecureCookie {
		*fs = append(*fs, find("BW031", "session.cookie.allow_insecure_cookie is set"))
	}
	if ck.AllowInsecureScriptAccess {
		*fs = append(*fs, find("BW032", "session.cookie.allow_insecure_script_access is set"))
	}
	switch {
	case ck.AllowInsecureNoSameSite:
		f := find("BW033", "session.cookie.allow_insecure_no_same_site is set")
		f.Key = "session.cookie.allow_insecure_no_same_site"
		*fs = append(*fs, f)
	case strings.EqualFold(ck.SameSite, "none"):
		*fs = append(*fs, find("BW033", `session.cookie.same_site is "none"`))
	}
}

func checkLimits(fs *[]Finding, l *limits.Config) {
	if l == nil {
		return
	}
	if err := l.Validate(); err != nil {
		f := find("BW001", err.Error())
		f.Key = "limits"
		*fs = append(*fs, f)
	}
	report := func(prefix string, v limits.Values) {
		for _, x := range []struct {
			key string
			n   int64
		}{
			{"max_body_bytes", v.MaxBodyBytes}, {"max_form_bytes", v.MaxFormBytes},
			{"max_fields", int64(v.MaxFields)}, {"max_files", int64(v.MaxFiles)},
			{"max_file_bytes", v.MaxFileBytes}, {"max_part_header_bytes", int64(v.MaxPartHeaderBytes)},
		} {
			if x.n == limits.Unlimited {
				f := findf("BW036", "%s%s is unlimited", prefix, x.key)
				f.Key = prefix + x.key
				*fs = append(*fs, f)
			}
		}
	}
	report("limits.", l.Values)
	for i, r := range l.Routes {
		report(fmt.Sprintf("limits.routes[%d].", i), r.Values)
	}
}

func checkUpload(fs *[]Finding, d Deployment) {
	u := d.Upload
	if u == nil {
		return
	}
	if err := u.Validate(); err != nil {
		f := find("BW001", err.Error())
		f.Key = "upload"
		*fs = append(*fs, f)
	}
	allow := u.Policy.Allow
	if allow == nil {
		allow = inspect.DefaultAllow
	}
	images := false
	for _, t := range allow {
		switch t = strings.ToLower(t); {
		case t == "image/svg+xml":
			*fs = append(*fs, find("BW039", `upload.policy.allow contains "image/svg+xml"`))
		case strings.HasPrefix(t, "image/"):
			images = true
		}
	}
	// The gateway forwards the original body (Forward), where re-encoding
	// cannot apply; the media host's attachment headers are its defence.
	if images && !u.Reencode && !u.Forward && d.Server == nil {
		*fs = append(*fs, find("BW040", "upload.reencode is not set"))
	}
}

func checkMedia(fs *[]Finding, d Deployment) {
	m := d.Media
	if m == nil || !m.Enabled() {
		return
	}
	site := m.SiteHosts
	if len(site) == 0 {
		for _, h := range d.Config.Hosts.Allowed {
			if h = strings.TrimPrefix(h, "."); h != "" && h != "*" {
				site = append(site, h)
			}
		}
	}
	mc := *m
	mc.SiteHosts = site
	if err := mc.Validate(); err != nil {
		// Package media refuses a same-site media host itself: that
		// refusal is BW037, reported with its own words.
		id := "BW001"
		if strings.Contains(err.Error(), "registrable domain") {
			id = "BW037"
		}
		f := find(id, err.Error())
		if id == "BW001" {
			f.Key = "media"
		}
		*fs = append(*fs, f)
		if id == "BW037" {
			return
		}
	}
	for _, mh := range m.Hosts {
		for _, s := range site {
			if registrable(mh) != "" && registrable(mh) == registrable(s) || strings.EqualFold(mh, s) {
				*fs = append(*fs, findf("BW037", "media host %q and site host %q share the registrable domain %q", mh, s, registrable(s)))
			}
		}
	}
}

// registrable returns the eTLD+1 of a host name, lower-cased, or "" for
// IP addresses and names without one.
func registrable(h string) string {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if _, err := netip.ParseAddr(h); err == nil {
		return ""
	}
	r, err := publicsuffix.EffectiveTLDPlusOne(h)
	if err != nil {
		return ""
	}
	return r
}
