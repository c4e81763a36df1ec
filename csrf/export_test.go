package csrf

import (
	"net/http"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// CheckReferer runs the Referer check alone (Django's _check_referer) and
// returns its reason, "" when it passes. The conformance vectors pin it
// separately from the middleware's decision.
func CheckReferer(p *Protection, r *http.Request) string {
	f := trustedproxy.FactsOf(r)
	if err := p.checkReferer(r, &f); err != nil {
		return err.Reason
	}
	return ""
}

// OriginVerified runs the Origin comparison alone (Django's
// _origin_verified).
func OriginVerified(p *Protection, r *http.Request) bool {
	f := trustedproxy.FactsOf(r)
	v, _ := p.checkOrigin(r, &f)
	return v == verdictBrowserOK
}

// TrustedOrigins returns the parsed trusted origins as Django groups them:
// exact origins, and wildcard suffixes by scheme.
func TrustedOrigins(p *Protection) (exact []string, subdomains map[string][]string) {
	exact = []string{}
	subdomains = map[string][]string{}
	for _, t := range p.trusted {
		if !t.wildcard {
			exact = append(exact, t.origin.String())
			continue
		}
		s := t.host
		if t.port != defaultPort(t.scheme) {
			s += ":" + itoa(t.port)
		}
		subdomains[t.scheme] = append(subdomains[t.scheme], s)
	}
	return exact, subdomains
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

// Unmask and Mask expose the cipher to the fuzz tests.
func Unmask(token string) string {
	s := unmask(token)
	return string(s[:])
}

func Mask(secret string) string {
	var s [SecretLength]byte
	copy(s[:], secret)
	return mask(&s)
}

// CheckFormat returns "", "length" or "chars".
func CheckFormat(s string) string {
	switch checkFormat(s) {
	case formatLength:
		return "length"
	case formatChars:
		return "chars"
	}
	return ""
}

// ParseOrigin parses an Origin value and returns its canonical form.
func ParseOrigin(s string) (string, bool) {
	o, ok := parseOrigin(s)
	if !ok {
		return "", false
	}
	return o.String(), true
}

// SameOrigin reports whether two Origin values parse and denote one origin.
func SameOrigin(a, b string) bool {
	x, ok1 := parseOrigin(a)
	y, ok2 := parseOrigin(b)
	return ok1 && ok2 && x.equal(y)
}

// DoesTokenMatch is Django's _does_token_match for a well-formed token and
// a 32-character secret.
func DoesTokenMatch(token, secret string) bool {
	if checkFormat(token) != formatOK || len(secret) != SecretLength || checkFormat(secret) != formatOK {
		return false
	}
	got, want := toSecret(token), toSecret(secret)
	return secretsEqual(&got, &want)
}

// LogReason is the reason an *Error's csrf_failure event carries.
func LogReason(e *Error) string { return e.logText() }

// DefaultFailure is the failure handler used when Config.FailureHandler is
// nil.
var DefaultFailure http.Handler = http.HandlerFunc(defaultFailure)

// FailurePage is the failure handler used when Config.FailureHandler is
// nil, with Config.Development as given.
func FailurePage(development bool) http.Handler { return failurePage(development) }

// Slug is the reason slug an *Error's csrf_failure event carries.
func Slug(e *Error) string { return e.slug() }
