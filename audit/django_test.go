package audit_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/signing"
)

const deployFile = "deploy_checks.json"

type deployVector struct {
	Test       string                     `json:"test"`
	Check      string                     `json:"check"`
	Settings   map[string]json.RawMessage `json:"settings"`
	Undefined  string                     `json:"setting_undefined"`
	Expected   []string                   `json:"expected_ids"`
	ExpectedMs []string                   `json:"expected_messages"`
}

// djangoCheckIDs lists, for every check function of
// django/core/checks/security, the IDs it can return. A vector runs one
// function, so only our findings carrying one of its IDs are compared
// (Check runs every rule at once).
var djangoCheckIDs = map[string][]string{
	"check_security_middleware":         {"security.W001"},
	"check_xframe_options_middleware":   {"security.W002"},
	"check_csrf_middleware":             {"security.W003"},
	"check_sts":                         {"security.W004"},
	"check_sts_include_subdomains":      {"security.W005"},
	"check_content_type_nosniff":        {"security.W006"},
	"check_ssl_redirect":                {"security.W008"},
	"check_secret_key":                  {"security.W009"},
	"check_session_cookie_secure":       {"security.W010", "security.W011", "security.W012"},
	"check_session_cookie_httponly":     {"security.W013", "security.W014", "security.W015"},
	"check_csrf_cookie_secure":          {"security.W016"},
	"check_debug":                       {"security.W018"},
	"check_xframe_deny":                 {"security.W019"},
	"check_allowed_hosts":               {"security.W020"},
	"check_sts_preload":                 {"security.W021"},
	"check_referrer_policy":             {"security.W022", "security.E023"},
	"check_cross_origin_opener_policy":  {"security.E024"},
	"check_secret_key_fallbacks":        {"security.W025"},
	"check_csp_settings":                {"security.E026"},
	"check_csp_nonce_context_processor": {"security.W027"},
	"check_csrf_failure_view":           {"security.E101", "security.E102"},
}

// Django's defaults (global_settings.py) for the settings the checks read.
var djangoDefaults = map[string]string{
	"DEBUG":                             `false`,
	"ALLOWED_HOSTS":                     `[]`,
	"SECRET_KEY":                        `"` + strings.Repeat("0123456789abcdef", 4) + `"`,
	"SECRET_KEY_FALLBACKS":              `[]`,
	"MIDDLEWARE":                        `[]`,
	"INSTALLED_APPS":                    `[]`,
	"TEMPLATES":                         `[]`,
	"SECURE_SSL_REDIRECT":               `false`,
	"SECURE_HSTS_SECONDS":               `0`,
	"SECURE_HSTS_INCLUDE_SUBDOMAINS":    `false`,
	"SECURE_HSTS_PRELOAD":               `false`,
	"SECURE_CONTENT_TYPE_NOSNIFF":       `true`,
	"SECURE_REFERRER_POLICY":            `"same-origin"`,
	"SECURE_CROSS_ORIGIN_OPENER_POLICY": `"same-origin"`,
	"X_FRAME_OPTIONS":                   `"DENY"`,
	"SESSION_COOKIE_SECURE":             `false`,
	"SESSION_COOKIE_HTTPONLY":           `true`,
	"CSRF_COOKIE_SECURE":                `false`,
	"CSRF_USE_SESSIONS":                 `false`,
	"SECURE_CSP":                        `{}`,
	"SECURE_CSP_REPORT_ONLY":            `{}`,
}

// settings is a Django settings module: the vector's values over the
// defaults, minus the undefined one.
type settings map[string]any

func (s settings) isTrue(k string) bool { v, _ := s[k].(bool); return v } // Django's "is True"

func (s settings) truthy(k string) bool {
	switch v := s[k].(type) {
	case nil:
		return false
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		return v != ""
	case []any:
		return len(v) > 0
	case map[string]any:
		return len(v) > 0
	}
	return true
}

// list returns a list setting; a Python set or tuple ({"set": [...]}) is
// its items.
func (s settings) list(k string) []string {
	var out []string
	l, ok := s[k].([]any)
	if m, isMap := s[k].(map[string]any); isMap {
		l, ok = m["set"].([]any)
	}
	if ok {
		for _, x := range l {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}

func (s settings) has(k, item string) bool { return slices.Contains(s.list(k), item) }

// policy converts a SECURE_CSP value. Django's dict becomes a Policy; a
// non-dict value (Django's E026) cannot be written in Bulwark's typed
// configuration at all: the TOML loader refuses it with its line.
func policy(raw json.RawMessage) (headers.Policy, error) {
	var obj vectors.Object
	if string(raw) == "null" {
		return nil, nil
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		// The JSON scalars and arrays of these vectors are TOML values
		// too: show that the loader refuses them, which is where Bulwark
		// reports what Django's E026 reports.
		_, lerr := bulwark.ParseConfig([]byte("[headers]\ncsp = " + string(raw) + "\n"))
		if lerr == nil {
			return nil, fmt.Errorf("csp = %s was accepted by the loader", raw)
		}
		return nil, fmt.Errorf("not expressible: the loader refuses it (%v), no check runs", lerr)
	}
	var p headers.Policy
	for _, k := range obj.Keys {
		var v any
		if err := json.Unmarshal(obj.Values[k], &v); err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case nil:
		case bool:
			if v {
				p = append(p, headers.Directive{Name: k})
			}
		case string:
			p = append(p, headers.Directive{Name: k, Values: []string{v}})
		case []any:
			d := headers.Directive{Name: k}
			for _, x := range v {
				d.Values = append(d.Values, fmt.Sprint(x))
			}
			p = append(p, d)
		case map[string]any: // {"set": [...]}: a Python set, rendered sorted
			set, ok := v["set"].([]any)
			if !ok {
				return nil, fmt.Errorf("directive %s: unsupported value %v", k, v)
			}
			d := headers.Directive{Name: k}
			for _, x := range set {
				d.Values = append(d.Values, fmt.Sprint(x))
			}
			slices.Sort(d.Values)
			p = append(p, d)
		default:
			return nil, fmt.Errorf("directive %s: unsupported value %v", k, v)
		}
	}
	return p, nil
}

// deployment maps Django settings to a Bulwark deployment. A middleware
// absent from MIDDLEWARE is the corresponding layer switched off:
// SecurityMiddleware is https.allow_insecure_http, insecure_disable_hsts,
// insecure_allow_sniffing, insecure_omit_referrer_policy and
// insecure_omit_cross_origin_opener_policy together; XFrameOptionsMiddleware
// is insecure_allow_framing; CsrfViewMiddleware is no csrf layer; the CSP
// middleware is no policy. The sessions app or middleware is a session
// layer (Bulwark has one, not two).
func deployment(s settings) (audit.Deployment, error) {
	var d audit.Deployment
	sec := s.has("MIDDLEWARE", "django.middleware.security.SecurityMiddleware")
	h, hs := &d.Config.Headers, &d.Config.HTTPS

	hs.AllowInsecureHTTP = !sec || !s.isTrue("SECURE_SSL_REDIRECT")
	if !sec || !s.truthy("SECURE_HSTS_SECONDS") {
		hs.InsecureDisableHSTS = true
	} else {
		n, _ := s["SECURE_HSTS_SECONDS"].(float64)
		hs.HSTSMaxAge = time.Duration(n) * time.Second
		hs.HSTSIncludeSubdomains = s.isTrue("SECURE_HSTS_INCLUDE_SUBDOMAINS")
		hs.HSTSPreload = s.isTrue("SECURE_HSTS_PRELOAD")
	}
	h.InsecureAllowSniffing = !sec || !s.isTrue("SECURE_CONTENT_TYPE_NOSNIFF")
	switch v := s["SECURE_REFERRER_POLICY"].(type) {
	case nil:
		h.InsecureOmitReferrerPolicy = true
	case string:
		h.ReferrerPolicy = []string{v}
	case []any, map[string]any:
		h.ReferrerPolicy = s.list("SECURE_REFERRER_POLICY")
	}
	if !sec {
		h.InsecureOmitReferrerPolicy = true
	}
	switch v := s["SECURE_CROSS_ORIGIN_OPENER_POLICY"].(type) {
	case nil:
		h.InsecureOmitCrossOriginOpenerPolicy = true
	case string:
		h.CrossOriginOpenerPolicy = v
	}
	if !sec {
		h.InsecureOmitCrossOriginOpenerPolicy = true
	}
	if s.has("MIDDLEWARE", "django.middleware.clickjacking.XFrameOptionsMiddleware") {
		h.FrameOptions, _ = s["X_FRAME_OPTIONS"].(string)
	} else {
		h.InsecureAllowFraming = true
	}
	for _, pol := range []struct {
		key string
		dst *headers.Policy
	}{{"SECURE_CSP", &h.CSP}, {"SECURE_CSP_REPORT_ONLY", &h.CSPReportOnly}} {
		raw, _ := json.Marshal(s[pol.key])
		p, err := policy(raw)
		if err != nil {
			return d, fmt.Errorf("%s: %w", pol.key, err)
		}
		if s.has("MIDDLEWARE", "django.middleware.csp.ContentSecurityPolicyMiddleware") {
			*pol.dst = p
		}
	}

	d.Config.Hosts.Allowed = s.list("ALLOWED_HOSTS")
	d.Config.Hosts.Development = s.truthy("DEBUG")

	sg := &signing.Config{}
	if k, ok := s["SECRET_KEY"].(string); ok {
		sg.Key = []byte(k)
	}
	for _, k := range s.list("SECRET_KEY_FALLBACKS") {
		sg.FallbackKeys = append(sg.FallbackKeys, []byte(k))
	}
	d.Signing = sg

	if s.has("MIDDLEWARE", "django.middleware.csrf.CsrfViewMiddleware") {
		d.Config.CSRF = csrf.Config{CookieSecure: s.isTrue("CSRF_COOKIE_SECURE"), UseSessions: s.truthy("CSRF_USE_SESSIONS")}
	} else {
		// bulwark.New always has the layer; an application composing
		// the packages itself can leave it out.
		d.NoCSRF = true
	}
	if s.has("INSTALLED_APPS", "django.contrib.sessions") || s.has("MIDDLEWARE", "django.contrib.sessions.middleware.SessionMiddleware") {
		// Only the cookie is linted; the store is a Go value.
		d.Session = &session.Config{Cookie: session.CookieConfig{
			AllowInsecureCookie:       !s.isTrue("SESSION_COOKIE_SECURE"),
			AllowInsecureScriptAccess: !s.isTrue("SESSION_COOKIE_HTTPONLY"),
		}}
	}
	return d, nil
}

// TestDjangoDeployChecks replays Django's security checks: each vector's
// settings become a Bulwark deployment, and the Django IDs our findings
// carry (restricted to those the vector's check function can return) must
// equal the expected list, in order.
func TestDjangoDeployChecks(t *testing.T) {
	var file struct {
		Vectors []deployVector `json:"vectors"`
	}
	vectors.Load(t, deployFile, &file)
	dev := vectors.Deviations(t, deployFile)
	// A vector's id is its test (Class.method); tests that Django runs
	// with several settings (subTest) add the settings, so that an id
	// names the same vector in every copy of the file.
	name := func(v deployVector) string { return v.Test[strings.LastIndex(v.Test, "::")+1:] }
	count := map[string]int{}
	for _, v := range file.Vectors {
		count[name(v)]++
	}
	n := 0
	for _, v := range file.Vectors {
		id := strings.TrimPrefix(name(v), ":")
		if count[name(v)] > 1 {
			id += " " + settingsString(v.Settings)
		}
		n++
		vectors.Check(t, deployFile, id, dev, func() error {
			ids, ok := djangoCheckIDs[v.Check]
			if !ok {
				return fmt.Errorf("unknown Django check function %q", v.Check)
			}
			s := settings{}
			for k, raw := range djangoDefaults {
				var x any
				if err := json.Unmarshal([]byte(raw), &x); err != nil {
					return err
				}
				s[k] = x
			}
			for k, raw := range v.Settings {
				var x any
				if err := json.Unmarshal(raw, &x); err != nil {
					return fmt.Errorf("setting %s: %v", k, err)
				}
				s[k] = x
			}
			if v.Undefined != "" {
				delete(s, v.Undefined)
			}
			d, err := deployment(s)
			if err != nil {
				return err
			}
			var got []string
			for _, f := range audit.CheckDeployment(d) {
				if slices.Contains(ids, f.Django) {
					got = append(got, f.Django)
				}
			}
			want := v.Expected
			if want == nil {
				want = []string{}
			}
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s with %s: got %q, want %q", v.Check, settingsString(v.Settings), got, want)
			}
			return nil
		})
	}
	vectors.Count(t, deployFile, n)
}

// settingsString is the settings as compact JSON with sorted keys.
func settingsString(m map[string]json.RawMessage) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	return strings.TrimSuffix(b.String(), "\n")
}
