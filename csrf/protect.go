package csrf

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// ErrSessionStore wraps a failure of Config.Sessions: the stored secret
// could not be read or written. The request is refused with 503, since
// the client did nothing wrong.
var ErrSessionStore = errors.New("csrf: session store unavailable")

// Handler returns a handler that checks every request before calling
// next, and serves refused ones with the failure handler (403).
//
// Safe methods (GET, HEAD, OPTIONS, TRACE) are never refused. With the
// token layer on, every request also gets its secret read, so that Token,
// TemplateField and Rotate work in next, and the cookie is sent when one
// of them asked for it.
func (p *Protection) Handler(next http.Handler) http.Handler {
	return &handler{p: p, next: next}
}

type handler struct {
	p    *Protection
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := h.p
	f := trustedproxy.FactsOf(r)
	if p.cfg.InsecureSkipTokens {
		// The Fetch Metadata path: no state, no allocation.
		if !safeMethod(r.Method) && !p.bypassed(r) {
			if err := p.checkTokenless(r, &f); err != nil && !h.exempt(r) {
				p.refuse(w, r, err)
				return
			}
		}
		h.next.ServeHTTP(w, r)
		return
	}

	st := &state{Context: r.Context(), p: p, secure: f.Scheme == "https"}
	st.rw = responseWriter{ResponseWriter: w, st: st}
	r = attachState(r, st)
	w = &st.rw
	if !p.cfg.UseSessions {
		// Cookie mode reads (and if need be replaces) the secret on every
		// request, as Django's process_request does.
		st.load(r)
	}
	if !safeMethod(r.Method) && !p.bypassed(r) {
		var err *Error
		r, err = p.check(r, &f, st, true)
		if err != nil && !h.exempt(r) {
			p.refuse(w, r, err)
			st.flush()
			return
		}
	}
	h.next.ServeHTTP(w, r)
	st.flush()
}

// Check reports whether r would be accepted, without serving it: nil, or
// an *Error wrapping one of the sentinel errors. Safe methods are
// accepted. It reads the token from the header, or from the form only
// when r.PostForm or r.MultipartForm is already parsed: Check never reads
// the body. Exempt handlers are not consulted; InsecureBypassPaths are.
func (p *Protection) Check(r *http.Request) error {
	if safeMethod(r.Method) || p.bypassed(r) {
		return nil
	}
	f := trustedproxy.FactsOf(r)
	if p.cfg.InsecureSkipTokens {
		if err := p.checkTokenless(r, &f); err != nil {
			return err
		}
		return nil
	}
	st := &state{Context: r.Context(), p: p, secure: f.Scheme == "https"}
	if _, err := p.check(r, &f, st, false); err != nil {
		return err
	}
	return nil
}

// check runs both layers in Django's order (d.5): Origin, then Referer
// (HTTPS without Origin), then the token. It returns the request to hand
// on, whose body replays what was read to find the form token.
func (p *Protection) check(r *http.Request, f *trustedproxy.Facts, st *state, readBody bool) (*http.Request, *Error) {
	v, err := p.checkOrigin(r, f)
	if v == verdictRefused {
		return r, err
	}
	// The Referer is the only same-origin signal left when a browser sends
	// neither Sec-Fetch-Site nor Origin; Django requires it over HTTPS.
	// When either was sent, the browser has spoken more precisely than any
	// Referer could (and privacy settings often strip the Referer).
	if v == verdictNoSignal && st.secure {
		if err := p.checkReferer(r, f); err != nil {
			return r, err
		}
	}
	return p.checkToken(r, st, readBody)
}

// checkTokenless is the check with the token layer off: the Fetch
// Metadata and Origin layer, then, with RefererWithoutTokens, Django's
// HTTPS Referer rule for requests that carry neither Origin nor
// Sec-Fetch-Site.
func (p *Protection) checkTokenless(r *http.Request, f *trustedproxy.Facts) *Error {
	v, err := p.checkOrigin(r, f)
	switch {
	case v == verdictRefused:
		return err
	case v == verdictNoSignal && p.cfg.RefererWithoutTokens && f.Scheme == "https":
		return p.checkReferer(r, f)
	}
	return nil
}

// checkToken is Django's _check_token (d.8).
func (p *Protection) checkToken(r *http.Request, st *state, readBody bool) (*http.Request, *Error) {
	st.mu.Lock()
	st.load(r)
	st.mu.Unlock()
	if st.loadErr != nil {
		return r, &Error{Reason: "CSRF secret unavailable: session store failed.", Err: ErrSessionStore, logged: loggedBySession(st.loadErr)}
	}
	switch {
	case st.problem == formatLength:
		return r, &Error{Reason: reasonCookieLength, Err: ErrNoSecret}
	case st.problem == formatChars:
		return r, &Error{Reason: reasonCookieChars, Err: ErrNoSecret}
	case st.storedRaw == "" && !st.storedOK:
		return r, &Error{Reason: reasonNoCookie, Err: ErrNoSecret}
	}

	tok, r := p.formToken(r, readBody)
	fromForm := tok != ""
	if !fromForm {
		vals, ok := r.Header[p.header]
		if !ok || len(vals) == 0 {
			return r, &Error{Reason: reasonTokenMissing, Err: ErrToken}
		}
		tok = vals[0]
	}
	switch checkFormat(tok) {
	case formatLength:
		if fromForm {
			return r, &Error{Reason: reasonPostTokenLength, Err: ErrToken}
		}
		return r, &Error{Reason: p.headerLength, Err: ErrToken}
	case formatChars:
		if fromForm {
			return r, &Error{Reason: reasonPostTokenChars, Err: ErrToken}
		}
		return r, &Error{Reason: p.headerChars, Err: ErrToken}
	}
	got := toSecret(tok)
	// A session value that is not a well-formed secret never matches (st.stored is
	// then all zero bytes, which no token unmasks to).
	if !st.storedOK || !secretsEqual(&got, &st.stored) {
		if fromForm {
			return r, &Error{Reason: reasonPostTokenIncorrect, Err: ErrToken}
		}
		return r, &Error{Reason: p.headerWrong, Err: ErrToken}
	}
	return r, nil
}

// refuse logs the refusal and serves it: 503 when the session store
// failed, else the failure handler with the reason in the context.
func (p *Protection) refuse(w http.ResponseWriter, r *http.Request, err *Error) {
	if errors.Is(err, ErrSessionStore) {
		if !err.logged {
			p.logStoreError(r, err)
		}
		http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
		return
	}
	// Django's sentence may quote the Origin or Referer: it goes, quoted
	// and bounded, in the detail; the reason is a slug.
	extra := []slog.Attr{refusal.Detail(err.logText())}
	if err.hint != "" {
		extra = append(extra, slog.String("hint", err.hint))
	}
	refusal.Log(p.log, r, "csrf failure", "csrf_failure", err.slug(), extra...)
	p.failure.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), failureKey{}, err)))
}

// loggedBySession reports whether a SessionSecrets error was already
// logged as a session_store_error event by package session's Manager,
// which logs every store failure it wraps in session.ErrStore, once per
// request. Logging it again would count one outage twice in the refusal
// metrics. Other errors (another SessionSecrets implementation, a request
// without a session) are logged here. The request is refused either way.
func loggedBySession(err error) bool { return errors.Is(err, session.ErrStore) }

func (p *Protection) logStoreError(r *http.Request, err error) {
	refusal.LogLevel(p.log, r, slog.LevelError, "csrf secret unavailable", "session_store_error", "csrf_secret_unavailable",
		refusal.Detail(err.Error()))
}

// defaultFailure is Django's default failure view, less the page: 403,
// text/html as Django serves it, and the status text as the body (the
// reason may quote attacker-chosen headers, so it goes to the log only).
func defaultFailure(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(http.StatusText(http.StatusForbidden)))
}

// failurePage is the failure handler when Config.FailureHandler is nil.
func failurePage(development bool) http.Handler {
	if development {
		return http.HandlerFunc(developmentFailure)
	}
	return http.HandlerFunc(defaultFailure)
}

// maxDevelopmentReason bounds the reason on the development page: it may
// quote an Origin or a Referer of any length.
const maxDevelopmentReason = 1024

// developmentFailure is defaultFailure stating the reason, as Django's
// failure view does with DEBUG = True ("Reason given for failure:"). The
// reason is escaped as Django's template autoescaping does and bounded.
func developmentFailure(w http.ResponseWriter, r *http.Request) {
	reason := refusal.Truncate(FailureReason(r), maxDevelopmentReason)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = io.WriteString(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="NONE,NOARCHIVE"><title>403 Forbidden</title></head>
<body><h1>Forbidden (403)</h1>
<p>CSRF verification failed. Request aborted.</p>
<p>Reason given for failure:</p>
<pre>`+djangoEscape.Replace(reason)+`</pre>
<p>This page states the reason because csrf development mode is on. In a deployment the body is the status text only.</p>
</body></html>
`)
}

// djangoEscape is Django's django.utils.html.escape (Python's html.escape
// with quote=True): what template autoescaping writes.
var djangoEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#x27;")

// factHost is Django's get_host() for the Referer check: the host package
// hosts validated, "" when that layer examined the host and refused it
// (Django's DisallowedHost), or the raw host when it did not run (safe
// here: a forged request comes from the victim's browser, which writes
// the Host header itself).
func factHost(r *http.Request) string {
	if h, ok := hosts.Host(r); ok {
		return h
	}
	return trustedproxy.Host(r)
}
