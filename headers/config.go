package headers

import (
	"errors"
	"fmt"
	"strings"
)

// Config selects the security headers added to every response. The zero
// Config is the secure one and matches Django's defaults plus
// XFrameOptionsMiddleware:
//
//	X-Content-Type-Options: nosniff
//	Referrer-Policy: same-origin
//	Cross-Origin-Opener-Policy: same-origin
//	X-Frame-Options: DENY
//
// Content-Security-Policy, Permissions-Policy and
// Cross-Origin-Resource-Policy are sent only when configured, since no
// default fits every site.
type Config struct {
	// InsecureAllowSniffing omits "X-Content-Type-Options: nosniff"
	// (Django's SECURE_CONTENT_TYPE_NOSNIFF = False). Zero (false): the
	// header is sent, so browsers do not guess a script or stylesheet out
	// of a response whose Content-Type says otherwise.
	InsecureAllowSniffing bool `toml:"insecure_allow_sniffing"`

	// ReferrerPolicy is the Referrer-Policy, as one or more policy tokens
	// (Django's SECURE_REFERRER_POLICY). Each element may itself be a
	// comma-separated list; tokens are trimmed and joined with ",", so
	// ["strict-origin, origin"] and ["strict-origin", "origin"] both send
	// "strict-origin,origin" (browsers use the last one they know). Every
	// token must be one of no-referrer, no-referrer-when-downgrade, origin,
	// origin-when-cross-origin, same-origin, strict-origin,
	// strict-origin-when-cross-origin, unsafe-url (Django's check E023).
	// Empty (the default) means "same-origin".
	ReferrerPolicy []string `toml:"referrer_policy"`

	// InsecureOmitReferrerPolicy sends no Referrer-Policy header (Django's
	// SECURE_REFERRER_POLICY = None): the browser's default applies.
	InsecureOmitReferrerPolicy bool `toml:"insecure_omit_referrer_policy"`

	// CrossOriginOpenerPolicy is the Cross-Origin-Opener-Policy (Django's
	// SECURE_CROSS_ORIGIN_OPENER_POLICY): same-origin,
	// same-origin-allow-popups or unsafe-none (Django's check E024).
	// Empty (the default) means "same-origin".
	CrossOriginOpenerPolicy string `toml:"cross_origin_opener_policy"`

	// InsecureOmitCrossOriginOpenerPolicy sends no
	// Cross-Origin-Opener-Policy header (Django's setting = None).
	InsecureOmitCrossOriginOpenerPolicy bool `toml:"insecure_omit_cross_origin_opener_policy"`

	// FrameOptions is the X-Frame-Options value (Django's X_FRAME_OPTIONS):
	// "DENY" or "SAMEORIGIN", case-insensitive, sent in upper case. Empty
	// (the default) means "DENY". A handler exempts one response (Django's
	// @xframe_options_exempt) with w.Header().Del("X-Frame-Options").
	FrameOptions string `toml:"frame_options"`

	// InsecureAllowFraming sends no X-Frame-Options header, so any site can
	// frame every page (clickjacking). Prefer a CSP frame-ancestors
	// directive, or per-response exemptions.
	InsecureAllowFraming bool `toml:"insecure_allow_framing"`

	// CSP is the enforced Content-Security-Policy (Django's SECURE_CSP).
	// Empty (the default): no header. Directive names and keywords are
	// validated by New. NonceSentinel in a source list becomes the
	// request's nonce when the handler read it with Nonce.
	CSP Policy `toml:"csp"`

	// CSPReportOnly is the Content-Security-Policy-Report-Only policy
	// (Django's SECURE_CSP_REPORT_ONLY), with the same rules as CSP. It
	// shares the request's nonce with CSP. Empty (the default): no header.
	CSPReportOnly Policy `toml:"csp_report_only"`

	// PermissionsPolicy is the Permissions-Policy header value, a
	// structured-field dictionary such as
	// `camera=(), microphone=(), geolocation=(self "https://maps.example")`.
	// Empty (the default): no header. Member names and syntax are checked
	// by New.
	PermissionsPolicy string `toml:"permissions_policy"`

	// CrossOriginResourcePolicy is the Cross-Origin-Resource-Policy value:
	// same-origin, same-site or cross-origin. Empty (the default): no
	// header (other sites may embed the responses as images, scripts...).
	CrossOriginResourcePolicy string `toml:"cross_origin_resource_policy"`
}

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("headers: invalid configuration")

// Header names, transcribed from their specifications (Fetch, HTML, CSP3,
// Permissions Policy), in canonical form.
const (
	headerNosniff = "X-Content-Type-Options"
	headerRP      = "Referrer-Policy"
	headerCOOP    = "Cross-Origin-Opener-Policy"
	headerXFO     = "X-Frame-Options"
	headerCSP     = "Content-Security-Policy"
	headerCSPRO   = "Content-Security-Policy-Report-Only"
	headerPP      = "Permissions-Policy"
	headerCORP    = "Cross-Origin-Resource-Policy"
)

// referrerPolicies is Django's E023 set (the Referrer Policy spec's tokens).
var referrerPolicies = map[string]bool{
	"no-referrer": true, "no-referrer-when-downgrade": true, "origin": true,
	"origin-when-cross-origin": true, "same-origin": true, "strict-origin": true,
	"strict-origin-when-cross-origin": true, "unsafe-url": true,
}

// openerPolicies is Django's E024 set.
var openerPolicies = map[string]bool{
	"same-origin": true, "same-origin-allow-popups": true, "unsafe-none": true,
}

var resourcePolicies = map[string]bool{
	"same-origin": true, "same-site": true, "cross-origin": true,
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	_, err := c.compile()
	return err
}

// field is one precomputed header.
type field struct {
	name, value string
}

// compiledPolicy is a validated CSP in its precomputed forms.
type compiledPolicy struct {
	plain string   // the header without nonce (sentinels dropped)
	parts []string // non-nil when the policy uses the nonce: split around it
}

func (cp *compiledPolicy) withNonce(nonce string) string {
	if cp.parts == nil || nonce == "" {
		return cp.plain
	}
	return strings.Join(cp.parts, "'nonce-"+nonce+"'")
}

// configError marks an error as a configuration error (errors.Is
// ErrConfig) without repeating ErrConfig's text.
type configError struct{ err error }

func (e configError) Error() string   { return e.err.Error() }
func (e configError) Unwrap() []error { return []error{e.err, ErrConfig} }

func compilePolicy(p Policy, key string) (*compiledPolicy, error) {
	if err := p.validate(key); err != nil {
		return nil, err
	}
	cp := &compiledPolicy{plain: p.Build("")}
	if p.usesNonce() {
		// A marker that cannot occur in a valid policy (validated values
		// exclude spaces) splits the rendered policy around the nonce, so
		// a request only pays for one strings.Join.
		const marker = "\x00nonce\x00"
		cp.parts = strings.Split(p.Build(marker), "'nonce-"+marker+"'")
	}
	return cp, nil
}

type compiled struct {
	static []field         // headers with a fixed value
	csp    *compiledPolicy // nil when not sent or fixed (then in static)
	cspRO  *compiledPolicy // idem
}

func (c Config) compile() (*compiled, error) {
	var out compiled
	if !c.InsecureAllowSniffing {
		out.static = append(out.static, field{headerNosniff, "nosniff"})
	}
	if !c.InsecureOmitReferrerPolicy {
		v, err := referrerValue(c.ReferrerPolicy)
		if err != nil {
			return nil, err
		}
		out.static = append(out.static, field{headerRP, v})
	}
	if !c.InsecureOmitCrossOriginOpenerPolicy {
		v := c.CrossOriginOpenerPolicy
		if v == "" {
			v = "same-origin"
		}
		if !openerPolicies[v] {
			return nil, fmt.Errorf("%w: cross_origin_opener_policy %q: want same-origin, same-origin-allow-popups or unsafe-none", ErrConfig, c.CrossOriginOpenerPolicy)
		}
		out.static = append(out.static, field{headerCOOP, v})
	}
	if !c.InsecureAllowFraming {
		v := strings.ToUpper(c.FrameOptions)
		if v == "" {
			v = "DENY"
		}
		if v != "DENY" && v != "SAMEORIGIN" {
			return nil, fmt.Errorf("%w: frame_options %q: want DENY or SAMEORIGIN", ErrConfig, c.FrameOptions)
		}
		out.static = append(out.static, field{headerXFO, v})
	}
	for _, pol := range []struct {
		name, key string
		p         Policy
		dst       **compiledPolicy
	}{{headerCSP, "csp", c.CSP, &out.csp}, {headerCSPRO, "csp_report_only", c.CSPReportOnly, &out.cspRO}} {
		if len(pol.p) == 0 {
			continue
		}
		cp, err := compilePolicy(pol.p, pol.key)
		if err != nil {
			return nil, configError{err}
		}
		switch {
		case cp.parts != nil:
			*pol.dst = cp
		case cp.plain != "":
			out.static = append(out.static, field{pol.name, cp.plain})
		}
	}
	if c.PermissionsPolicy != "" {
		if err := checkPermissionsPolicy(c.PermissionsPolicy); err != nil {
			return nil, fmt.Errorf("%w: permissions_policy %q: %v", ErrConfig, c.PermissionsPolicy, err)
		}
		out.static = append(out.static, field{headerPP, c.PermissionsPolicy})
	}
	if v := c.CrossOriginResourcePolicy; v != "" {
		if !resourcePolicies[v] {
			return nil, fmt.Errorf("%w: cross_origin_resource_policy %q: want same-origin, same-site or cross-origin", ErrConfig, v)
		}
		out.static = append(out.static, field{headerCORP, v})
	}
	return &out, nil
}

func referrerValue(list []string) (string, error) {
	if len(list) == 0 {
		return "same-origin", nil
	}
	var toks []string
	for _, item := range list {
		for _, t := range strings.Split(item, ",") {
			t = strings.TrimSpace(t)
			if !referrerPolicies[t] {
				return "", fmt.Errorf("%w: referrer_policy %q: want one of no-referrer, no-referrer-when-downgrade, origin, origin-when-cross-origin, same-origin, strict-origin, strict-origin-when-cross-origin, unsafe-url", ErrConfig, t)
			}
			toks = append(toks, t)
		}
	}
	return strings.Join(toks, ","), nil
}

// checkPermissionsPolicy checks the structured-field dictionary syntax of
// RFC 8941 as Permissions-Policy uses it: members "name=value" separated by
// commas, names lower-case tokens, values "*", a token such as self, a
// quoted origin, or an inner list of those in parentheses.
func checkPermissionsPolicy(s string) error {
	for _, member := range strings.Split(s, ",") {
		member = strings.Trim(member, " \t")
		name, val, ok := strings.Cut(member, "=")
		if !ok {
			return fmt.Errorf("member %q: want name=allowlist", member)
		}
		if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] == '*') {
			return fmt.Errorf("member name %q: want a lower-case key", name)
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*') {
				return fmt.Errorf("member name %q: invalid character %q", name, c)
			}
		}
		if err := checkAllowlist(val); err != nil {
			return fmt.Errorf("member %q: %v", name, err)
		}
	}
	return nil
}

func checkAllowlist(v string) error {
	if v == "" {
		return errors.New("empty allowlist")
	}
	if v[0] == '(' {
		if v[len(v)-1] != ')' {
			return errors.New("unterminated inner list")
		}
		for _, item := range strings.Fields(v[1 : len(v)-1]) {
			if err := checkItem(item); err != nil {
				return err
			}
		}
		return nil
	}
	return checkItem(v)
}

func checkItem(it string) error {
	if it == "*" || it == "self" || it == "src" {
		return nil
	}
	if len(it) >= 2 && it[0] == '"' && it[len(it)-1] == '"' {
		for i := 1; i < len(it)-1; i++ {
			if c := it[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return fmt.Errorf("invalid character %q in origin", c)
			}
		}
		return nil
	}
	return fmt.Errorf("item %q: want *, self, src or a quoted origin", it)
}

// WithDefaults returns c with every zero field that has a default replaced
// by that default, in the form New sends it (Referrer-Policy tokens split
// and trimmed, X-Frame-Options in upper case): the effective
// configuration. It does not validate c.
func (c Config) WithDefaults() Config {
	if !c.InsecureOmitReferrerPolicy {
		var toks []string
		for _, item := range c.ReferrerPolicy {
			for _, t := range strings.Split(item, ",") {
				toks = append(toks, strings.TrimSpace(t))
			}
		}
		if len(toks) == 0 {
			toks = []string{"same-origin"}
		}
		c.ReferrerPolicy = toks
	}
	if c.CrossOriginOpenerPolicy == "" && !c.InsecureOmitCrossOriginOpenerPolicy {
		c.CrossOriginOpenerPolicy = "same-origin"
	}
	if !c.InsecureAllowFraming {
		c.FrameOptions = strings.ToUpper(c.FrameOptions)
		if c.FrameOptions == "" {
			c.FrameOptions = "DENY"
		}
	}
	return c
}
