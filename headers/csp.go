package headers

import (
	"errors"
	"fmt"
	"strings"
)

// NonceSentinel stands for the request's nonce in a CSP source list
// (Django's CSP.NONCE). When the nonce was read during the request (Nonce),
// it becomes 'nonce-<value>'; otherwise it is dropped, and a directive left
// with no source is dropped too. The quoted spelling
// "'<CSP_NONCE_SENTINEL>'" is accepted as well.
const NonceSentinel = "<CSP_NONCE_SENTINEL>"

const quotedSentinel = "'" + NonceSentinel + "'"

// Source keywords (single-quoted, as they must appear in a policy).
const (
	Self           = "'self'"
	None           = "'none'"
	UnsafeInline   = "'unsafe-inline'"
	UnsafeEval     = "'unsafe-eval'"
	UnsafeHashes   = "'unsafe-hashes'"
	StrictDynamic  = "'strict-dynamic'"
	ReportSample   = "'report-sample'"
	WasmUnsafeEval = "'wasm-unsafe-eval'"
)

// Directive is one CSP directive: a name and its values, in order.
//
// Values nil or empty renders the bare directive name (Django's True, as in
// "upgrade-insecure-requests"). To leave a directive out, leave it out of
// the Policy. Values are emitted verbatim, joined by one space; keywords
// must carry their single quotes ("'self'", not "self"). NonceSentinel may
// appear among the values of a source-list directive.
type Directive struct {
	// Name is the directive name, lower case, e.g. "script-src".
	Name string `toml:"name"`
	// Values are the directive's sources or tokens.
	Values []string `toml:"values"`
}

// Policy is an ordered list of directives, rendered in order and joined
// with "; " (Django's build_policy over an ordered mapping). A nil or empty
// Policy sends no header.
type Policy []Directive

// Build renders p as Django's build_policy(config, nonce) does: each
// NonceSentinel becomes 'nonce-<nonce>' when nonce is non-empty and is
// dropped otherwise; a directive whose values were all dropped is omitted;
// a directive is rendered as its name, a space and its values joined by
// spaces, with trailing spaces removed; directives are joined with "; ".
// Build does not validate p (see Validate).
func (p Policy) Build(nonce string) string {
	parts := make([]string, 0, len(p))
	for _, d := range p {
		if len(d.Values) == 0 {
			parts = append(parts, d.Name)
			continue
		}
		vals := make([]string, 0, len(d.Values))
		for _, v := range d.Values {
			if isSentinel(v) {
				if nonce == "" {
					continue
				}
				v = "'nonce-" + nonce + "'"
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			// Every value was an unused nonce sentinel: drop the
			// directive, as Django does.
			continue
		}
		// Right-strip, as Django does (a lone "" value renders the bare
		// name).
		parts = append(parts, strings.TrimRight(d.Name+" "+strings.Join(vals, " "), " "))
	}
	return strings.Join(parts, "; ")
}

// usesNonce reports whether p contains the nonce sentinel.
func (p Policy) usesNonce() bool {
	for _, d := range p {
		for _, v := range d.Values {
			if isSentinel(v) {
				return true
			}
		}
	}
	return false
}

func isSentinel(v string) bool { return v == NonceSentinel || v == quotedSentinel }

// ErrPolicy is wrapped by every error Policy.Validate returns.
var ErrPolicy = errors.New("headers: invalid content security policy")

// directive kinds: what their values may be.
const (
	kindSources = iota // a source list
	kindBare           // no value
	kindSandbox        // sandbox tokens
	kindURIs           // report-uri
	kindToken          // report-to group name
	kindTT             // trusted-types
	kindRTT            // require-trusted-types-for
	kindWebRTC         // webrtc
	kindTokens         // plugin-types, require-sri-for (deprecated, free tokens)
)

// directives lists every directive of CSP Level 3 and its drafts, plus the
// deprecated ones browsers still parse. Transcribed from the W3C
// specifications (CSP3 §6, Trusted Types, Mixed Content, Upgrade Insecure
// Requests), not from any implementation.
var directives = map[string]int{
	"default-src":               kindSources,
	"script-src":                kindSources,
	"script-src-elem":           kindSources,
	"script-src-attr":           kindSources,
	"style-src":                 kindSources,
	"style-src-elem":            kindSources,
	"style-src-attr":            kindSources,
	"img-src":                   kindSources,
	"font-src":                  kindSources,
	"connect-src":               kindSources,
	"media-src":                 kindSources,
	"object-src":                kindSources,
	"frame-src":                 kindSources,
	"child-src":                 kindSources,
	"worker-src":                kindSources,
	"manifest-src":              kindSources,
	"prefetch-src":              kindSources,
	"fenced-frame-src":          kindSources,
	"base-uri":                  kindSources,
	"form-action":               kindSources,
	"frame-ancestors":           kindSources,
	"navigate-to":               kindSources,
	"upgrade-insecure-requests": kindBare,
	"block-all-mixed-content":   kindBare,
	"sandbox":                   kindSandbox,
	"report-uri":                kindURIs,
	"report-to":                 kindToken,
	"trusted-types":             kindTT,
	"require-trusted-types-for": kindRTT,
	"webrtc":                    kindWebRTC,
	"plugin-types":              kindTokens,
	"require-sri-for":           kindTokens,
}

// keywords are the quoted source keywords of CSP3 (and its drafts).
var keywords = map[string]bool{
	"'self'": true, "'none'": true, "'unsafe-inline'": true, "'unsafe-eval'": true,
	"'strict-dynamic'": true, "'unsafe-hashes'": true, "'report-sample'": true,
	"'unsafe-allow-redirects'": true, "'wasm-unsafe-eval'": true,
	"'inline-speculation-rules'": true, "'trusted-types-eval'": true,
	"'report-sha256'": true, "'report-sha384'": true, "'report-sha512'": true,
	"'unsafe-webtransport-hashes'": true,
}

var sandboxTokens = map[string]bool{
	"allow-downloads": true, "allow-forms": true, "allow-modals": true,
	"allow-orientation-lock": true, "allow-pointer-lock": true, "allow-popups": true,
	"allow-popups-to-escape-sandbox": true, "allow-presentation": true,
	"allow-same-origin": true, "allow-scripts": true,
	"allow-storage-access-by-user-activation": true, "allow-top-navigation": true,
	"allow-top-navigation-by-user-activation":  true,
	"allow-top-navigation-to-custom-protocols": true,
}

// Validate reports the first problem with p: an unknown or duplicate
// directive name, a keyword without its quotes ("self"), an unknown quoted
// keyword, a malformed nonce or hash source, a value that does not belong
// to its directive, or a character that would break the header (space,
// ";", ",", quotes inside a value, control or non-ASCII characters). The
// error names the directive and quotes the value.
func (p Policy) Validate() error { return p.validate("") }

// validate is Validate with the configuration key in front of the
// directive ("csp: directive ...") when key is non-empty.
func (p Policy) validate(key string) error {
	if key != "" {
		key += ": "
	}
	seen := make(map[string]bool, len(p))
	for _, d := range p {
		kind, ok := directives[d.Name]
		if !ok {
			return fmt.Errorf("%w: %sunknown directive %q", ErrPolicy, key, d.Name)
		}
		if seen[d.Name] {
			// Browsers ignore every repetition after the first, so a
			// duplicate is always a mistake that loosens or tightens the
			// policy in ways its author did not see.
			return fmt.Errorf("%w: %sduplicate directive %q", ErrPolicy, key, d.Name)
		}
		seen[d.Name] = true
		if len(d.Values) == 1 && d.Values[0] == "" {
			continue // renders the bare name, as Django does
		}
		if kind == kindBare && len(d.Values) > 0 {
			return fmt.Errorf("%w: %sdirective %q takes no value, got %q", ErrPolicy, key, d.Name, d.Values[0])
		}
		for _, v := range d.Values {
			if err := checkValue(kind, v); err != nil {
				return fmt.Errorf("%w: %sdirective %q: value %q: %v", ErrPolicy, key, d.Name, v, err)
			}
		}
	}
	return nil
}

func checkValue(kind int, v string) error {
	if v == "" {
		return errors.New("empty value")
	}
	if isSentinel(v) {
		if kind != kindSources {
			return errors.New("the nonce sentinel belongs in a source list")
		}
		return nil
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == ';' || c == ',' {
			return fmt.Errorf("character %q not allowed", c)
		}
		if c == '\'' && i != 0 && i != len(v)-1 {
			return errors.New("quote inside a value")
		}
	}
	quoted := len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\''
	if !quoted && strings.ContainsRune(v, '\'') {
		return errors.New("unbalanced quote")
	}
	switch kind {
	case kindSources:
		if quoted {
			return checkQuotedSource(v)
		}
		if looksLikeKeyword(v) {
			return fmt.Errorf("keyword without quotes (write '%s')", v)
		}
		return nil
	case kindSandbox:
		if !sandboxTokens[v] {
			return errors.New("unknown sandbox token")
		}
	case kindRTT:
		if v != "'script'" {
			return errors.New("want 'script'")
		}
	case kindWebRTC:
		if v != "'allow'" && v != "'block'" {
			return errors.New("want 'allow' or 'block'")
		}
	case kindTT:
		if quoted && v != "'none'" && v != "'allow-duplicates'" {
			return errors.New("want a policy name, *, 'none' or 'allow-duplicates'")
		}
	default:
		if quoted {
			return errors.New("unexpected quoted value")
		}
	}
	return nil
}

func checkQuotedSource(v string) error {
	if keywords[v] {
		return nil
	}
	inner := v[1 : len(v)-1]
	for _, prefix := range []string{"nonce-", "sha256-", "sha384-", "sha512-"} {
		if b64, ok := strings.CutPrefix(inner, prefix); ok {
			if !isBase64(b64) {
				return fmt.Errorf("%s value is not base64", strings.TrimSuffix(prefix, "-"))
			}
			return nil
		}
	}
	return errors.New("unknown keyword")
}

// looksLikeKeyword reports whether an unquoted source is a keyword missing
// its quotes. Unquoted, "self" is a host named self: a policy that silently
// allows nothing it meant to.
func looksLikeKeyword(v string) bool {
	l := strings.ToLower(v)
	if keywords["'"+l+"'"] {
		return true
	}
	for _, p := range []string{"nonce-", "sha256-", "sha384-", "sha512-"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func isBase64(s string) bool {
	if s == "" {
		return false
	}
	pad := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '+', c == '/', c == '-', c == '_':
			if pad > 0 {
				return false
			}
		case c == '=':
			pad++
			if pad > 2 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
