package csrf

import (
	"errors"
	"strings"
)

// ErrConfig is wrapped by every configuration error of New and Validate.
var ErrConfig = errors.New("csrf: invalid configuration")

// Sentinel errors, wrapped by every *Error, to branch on with errors.Is.
var (
	// ErrCrossOrigin: the Fetch Metadata and Origin layer refused the
	// request (Sec-Fetch-Site says another site or origin, or the Origin
	// header names an origin that is neither ours nor trusted).
	ErrCrossOrigin = errors.New("csrf: cross-origin request")
	// ErrReferer: the strict Referer check refused an HTTPS request that
	// carried neither Origin nor Sec-Fetch-Site.
	ErrReferer = errors.New("csrf: referer check failed")
	// ErrNoSecret: no usable secret is stored for the client (no cookie or
	// session value, or a malformed one).
	ErrNoSecret = errors.New("csrf: secret missing or malformed")
	// ErrToken: the request carried no token, a malformed one, or one that
	// does not match the stored secret.
	ErrToken = errors.New("csrf: token missing or incorrect")
)

// Error is a refused request. Reason is Django's failure reason text
// (CsrfViewMiddleware's REASON_* strings, exactly), or, for the checks
// Django does not have, a text in the same style. Reason may quote request
// headers (an Origin, a Referer), so it belongs in logs, never in a
// response body; the csrf_failure event logs it with a Referer's query and
// fragment replaced by "…".
type Error struct {
	Reason string
	Err    error // one of the sentinel errors above

	hint   string // for the log: a likely misconfiguration behind the refusal
	logged bool   // a session store failure the session layer already logged

	// logReason is Reason as logged, when the two differ: a Referer's
	// query and fragment are left out of logs (see errBadReferer).
	logReason string
}

// logText is the reason for the csrf_failure event.
func (e *Error) logText() string {
	if e.logReason != "" {
		return e.logReason
	}
	return e.Reason
}

func (e *Error) Error() string { return "csrf: " + e.Reason }

// Unwrap returns the sentinel error, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

// Django's reason texts (django/middleware/csrf.py), kept verbatim: they are
// what operators search logs for, and the conformance vectors pin them.
const (
	reasonBadOriginPrefix    = "Origin checking failed - "
	reasonBadOriginSuffix    = " does not match any trusted origins."
	reasonNoReferer          = "Referer checking failed - no Referer."
	reasonMalformedReferer   = "Referer checking failed - Referer is malformed."
	reasonInsecureReferer    = "Referer checking failed - Referer is insecure while host is secure."
	reasonBadRefererPrefix   = "Referer checking failed - "
	reasonBadRefererSuffix   = " does not match any trusted origins."
	reasonNoCookie           = "CSRF cookie not set."
	reasonCookieLength       = "CSRF cookie has incorrect length."
	reasonCookieChars        = "CSRF cookie has invalid characters."
	reasonTokenMissing       = "CSRF token missing."
	reasonPostTokenLength    = "CSRF token from POST has incorrect length."
	reasonPostTokenChars     = "CSRF token from POST has invalid characters."
	reasonPostTokenIncorrect = "CSRF token from POST incorrect."

	// Bulwark's own checks, in Django's style. Sec-Fetch-Site values other
	// than the four the Fetch Metadata specification defines are not echoed.
	reasonCrossSite   = "Sec-Fetch-Site checking failed - cross-site request."
	reasonSameSite    = "Sec-Fetch-Site checking failed - same-site request from another origin."
	reasonUnknownSite = "Sec-Fetch-Site checking failed - unknown value."
)

func errBadOrigin(origin string) *Error {
	return &Error{Reason: reasonBadOriginPrefix + origin + reasonBadOriginSuffix, Err: ErrCrossOrigin}
}

// errBadReferer is Django's REASON_BAD_REFERER with the Referer's geturl().
// The reason keeps the whole URL, as Django's failure view receives it, but
// the logged reason replaces the query and fragment with "…": a Referer is
// the address of the page the user came from, and its query string can
// carry what the other site put there (a password reset token, an OAuth
// code, a session id in a URL), which has no place in logs. The scheme,
// host, port and path, which say which site posted, are kept.
func errBadReferer(u splitURL) *Error {
	e := &Error{Reason: reasonBadRefererPrefix + u.String() + reasonBadRefererSuffix, Err: ErrReferer}
	if u.query != "" || u.fragment != "" {
		if u.query != "" {
			u.query = "…"
		}
		if u.fragment != "" {
			u.fragment = "…"
		}
		e.logReason = reasonBadRefererPrefix + u.String() + reasonBadRefererSuffix
	}
	return e
}

// slug is the stable reason slug of the csrf_failure event: what was
// wrong, without the request data Django's sentence may quote (that goes,
// quoted and bounded, in the event's detail).
func (e *Error) slug() string {
	r := e.Reason
	switch {
	case errors.Is(e.Err, ErrSessionStore):
		return "session_store_error"
	case strings.HasPrefix(r, reasonBadOriginPrefix):
		return "bad_origin"
	case r == reasonCrossSite:
		return "cross_site"
	case r == reasonSameSite:
		return "same_site"
	case r == reasonUnknownSite:
		return "unknown_fetch_site"
	case r == reasonNoReferer:
		return "no_referer"
	case r == reasonMalformedReferer:
		return "malformed_referer"
	case r == reasonInsecureReferer:
		return "insecure_referer"
	case strings.HasPrefix(r, reasonBadRefererPrefix):
		return "bad_referer"
	case r == reasonNoCookie:
		return "no_cookie"
	case r == reasonCookieLength:
		return "cookie_incorrect_length"
	case r == reasonCookieChars:
		return "cookie_invalid_characters"
	case r == reasonTokenMissing:
		return "token_missing"
	case strings.HasSuffix(r, "has incorrect length."):
		return "token_incorrect_length"
	case strings.HasSuffix(r, "has invalid characters."):
		return "token_invalid_characters"
	case strings.HasSuffix(r, " incorrect."):
		return "token_incorrect"
	}
	return "csrf_failure"
}
