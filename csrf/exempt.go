package csrf

import (
	"context"
	"net/http"
)

type exemptKey struct{}

// Exempt marks h as exempt from CSRF checks (Django's csrf_exempt), for a
// handler that authenticates requests otherwise (a webhook checking a
// signature, an API taking bearer tokens, never cookies).
//
// It works in two placements:
//   - registered directly on the *http.ServeMux that a Protection's Handler
//     wraps: a refused request is let through when the mux routes it to an
//     Exempt handler. The mux is asked with its own Handler method, so a
//     request the mux would redirect (a missing trailing slash, an unclean
//     path) routes to the redirect, not to h, and stays refused: the
//     over-broad match of CVE-2025-47910 cannot happen. Exempt handlers
//     inside nested muxes or other routers are not seen (fail closed);
//   - outside a Protection: requests through h are marked exempt in their
//     context, and a Protection further in lets them through.
//
// An exempt request still gets its secret read, so Token works in h.
func Exempt(h http.Handler) http.Handler { return exemptHandler{h} }

type exemptHandler struct{ h http.Handler }

func (e exemptHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if v, _ := r.Context().Value(exemptKey{}).(bool); !v {
		r = r.WithContext(context.WithValue(r.Context(), exemptKey{}, true))
	}
	e.h.ServeHTTP(w, r)
}

// exempt is consulted only once a request has been refused, so its cost
// (a mux lookup) is never paid by accepted requests.
func (h *handler) exempt(r *http.Request) bool {
	if v, _ := r.Context().Value(exemptKey{}).(bool); v {
		return true
	}
	switch next := h.next.(type) {
	case exemptHandler:
		return true
	case interface {
		Handler(*http.Request) (http.Handler, string)
	}:
		routed, _ := next.Handler(r)
		_, ok := routed.(exemptHandler)
		return ok
	}
	return false
}

// bypassed reports whether r's path is exactly one of the
// InsecureBypassPaths, compared in its escaped form.
func (p *Protection) bypassed(r *http.Request) bool {
	if p.bypass == nil {
		return false
	}
	_, ok := p.bypass[r.URL.EscapedPath()]
	return ok
}
