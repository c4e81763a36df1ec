// Package csrf protects against cross-site request forgery, in two layers.
//
// The Fetch Metadata and Origin layer is always on. Unsafe requests (every
// method but GET, HEAD, OPTIONS and TRACE) pass when the browser says they
// come from our own origin (Sec-Fetch-Site: same-origin, or none for a
// user-initiated navigation) and are refused when it says they come from
// another site or origin (cross-site, same-site), unless their Origin is
// one of Config.TrustedOrigins. A request without Sec-Fetch-Site but with
// an Origin header has the Origin parsed and compared with our own origin
// as a parsed origin: the scheme established by package trustedproxy (so
// it works behind a TLS-terminating proxy), the host validated by package
// hosts (or the raw host when that layer is absent), the host lower-cased
// and the default port dropped. This is the design of net/http's
// CrossOriginProtection, with the scheme taken into account and Django's
// wildcard trusted origins.
//
// The token layer is Django's CsrfViewMiddleware, on unless
// Config.InsecureSkipTokens is set. A 32-character secret is stored in a
// cookie ("csrftoken", sent as "__Host-csrftoken" over HTTPS) or in the
// session (Config.UseSessions); pages embed masked 64-character tokens
// from Token or TemplateField, and unsafe requests must return one in the
// csrfmiddlewaretoken form field (POST) or the X-CSRFToken header. Over
// HTTPS, a request from a browser that sent neither Origin nor
// Sec-Fetch-Site must also carry a same-origin Referer. Failure reasons are
// Django's texts, byte for byte; tokens and cookies interoperate with
// Django's.
//
// Config.RefererWithoutTokens keeps that Referer rule when the token layer
// is off: over HTTPS, an unsafe request with neither Origin nor
// Sec-Fetch-Site passes only with a same-origin (or trusted) https
// Referer, so a cross-origin Referer, the one signal such a request
// carries, is not ignored. "bulwark serve" runs the tokenless layer this
// way in front of Django, which keeps its own tokens.
//
//	p, err := csrf.New(csrf.Config{TrustedOrigins: []string{"https://*.example.com"}})
//	if err != nil { ... }
//	http.ListenAndServe(addr, p.Handler(mux))
//
// and in a template, inside each form: {{ .CSRFField }}, with
// data.CSRFField = csrf.TemplateField(r). Call csrf.Rotate(r) on login.
//
// # Threat model
//
// What it stops:
//   - A page on another site making the victim's browser send a state
//     changing request with the victim's cookies: a form that submits
//     itself, fetch or XMLHttpRequest with credentials, a redirect chain.
//     Every current browser sends Sec-Fetch-Site (all since 2023) and
//     Origin on such requests; the first layer refuses them before the
//     application runs, whatever the token layer says.
//   - Login CSRF: an unsafe request without a stored secret is refused
//     ("CSRF cookie not set."), and Rotate on login voids any secret an
//     attacker planted before it.
//   - Cookie tossing: a sibling subdomain (or a network attacker writing
//     through plain HTTP) setting our cookie and a matching token. Over
//     HTTPS the cookie is __Host- prefixed, which browsers accept only from
//     a secure origin for this exact host; and the forged request still
//     comes from the sibling's origin, which the first layer refuses
//     (same-site is not same-origin). A replaced malformed cookie is
//     logged (csrf_cookie_replaced), where Django is silent.
//   - A downgrade: an http:// Origin or Referer on an HTTPS site is another
//     origin and is refused.
//   - BREACH: tokens are masked afresh on every call, so a page compressed
//     with attacker-chosen input leaks nothing about the secret; the
//     secret itself is compared in constant time.
//
// What the token layer adds over Fetch Metadata alone: protection for
// browsers too old to send Sec-Fetch-Site or Origin (they must carry a
// token, and over HTTPS a same-origin Referer); a second, independent
// check if a trusted origin or a proxy's scheme handling is misconfigured;
// and a per-client secret that a sibling origin cannot read.
//
// What neither stops:
//   - Cross-site scripting. Script running in our origin sends same-origin
//     requests and can read tokens from our pages.
//   - A compromised origin listed in TrustedOrigins (or matched by a
//     wildcard there): it is trusted. With InsecureSkipTokens, such an
//     origin, or any same-site origin you chose to trust, needs nothing
//     more; with tokens it must still obtain one.
//   - State changes on safe methods: GET, HEAD, OPTIONS and TRACE are never
//     checked. Applications must not change state on them.
//   - Non-browser clients: a request with neither Sec-Fetch-Site nor
//     Origin passes the first layer (curl is not a confused deputy); the
//     token layer still requires a token, and over HTTPS the Referer rule
//     (with tokens, or RefererWithoutTokens) a same-origin Referer, which
//     a client that is not a browser can simply send. Authenticate APIs
//     without ambient credentials.
//   - Plain HTTP without HSTS: a network attacker can rewrite our pages
//     themselves. The Referer check runs only over HTTPS, as in Django.
//   - Exempted handlers and InsecureBypassPaths: they must authenticate
//     requests some other way.
package csrf
