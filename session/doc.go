// Package session is Bulwark's session middleware: Django's
// django.contrib.sessions done the way a Go service needs it, over a
// context-first Store contract (server-side stores: memstore, sqlitestore,
// redisstore, pgstore) or a CookieStore (cookiestore: the session sealed
// in the cookie).
//
//	m, err := session.New(session.Config{Store: store})
//	...
//	http.ListenAndServeTLS(addr, cert, key, m.Handler(app))
//
// Inside handlers, values are typed and JSON-encoded:
//
//	session.Put(r, "user", userID)            // on login, after session.Renew(r)
//	id, ok := session.Get[int64](r, "user")
//	session.Flush(r)                          // on logout
//
// # Behaviour
//
//   - Lazy: the store is read only when the handler reads or writes the
//     session; an untouched session costs nothing and sends no cookie.
//   - Saved when modified (or on every request with SaveEveryRequest),
//     when the response starts (see Manager), never for a response with
//     status 500 or above. Values put after the response started are
//     refused with ErrResponseStarted.
//   - Vary: Cookie whenever the session was read or its cookie sent
//     (including with SaveEveryRequest: CVE-2026-35192).
//   - Flush deletes the record at once and the cookie with the response,
//     in Django's exact delete-cookie format; Renew moves the data to a
//     new id and deletes the old record.
//   - Expiry: an absolute Lifetime (default 14 days, from creation or the
//     last Renew), an optional IdleTimeout, browser-session cookies, and
//     per-session SetExpiry (Django's set_expiry).
//   - Store failures fail closed: the request ends in 503 with one
//     session_store_error event, and the handler's response is not sent
//     (its headers and cookies are dropped; the headers set in front of
//     the manager, such as the security headers and HSTS, stay); the next
//     request tries the store again. A save that races a logout
//     (cookiestore with revocation) answers 400 instead of resurrecting
//     the session, as Django's SessionInterrupted; a session too large for
//     its cookie answers 500. Neither sends the handler's response.
//   - CSRFSecret and SetCSRFSecret let package csrf keep its secret in
//     the session (Django's CSRF_USE_SESSIONS).
//
// # Session ids and cookies
//
// Ids are 256 bits from crypto/rand, sent as 43 characters of unpadded
// base64url. Stores only ever see base64url(SHA-256(id)) (or an HMAC with
// Config.StoreKeySecret), so a leaked store, backup or slow-query log
// yields no usable cookie. The cookie defaults to
// "__Host-session; Path=/; Secure; HttpOnly; SameSite=Lax"; each
// weakening has an option named AllowInsecure....
//
// # Deviations from Django
//
//   - Ids are 43 base64url characters (256 bits), not 32 [a-z0-9]
//     characters, and cannot be assigned.
//   - The cookie is Secure and __Host- prefixed by default (Django: not
//     Secure, "sessionid"); SameSite=None without Secure is refused.
//   - Renew always rotates the id; Django's login keeps it when the same
//     user logs in again (its weak point 16).
//   - A store failure is a 503, not a 500 from an exception.
//   - The cookie's Max-Age counts down to the session's absolute deadline
//     instead of restarting at SESSION_COOKIE_AGE on every save.
//
// # Threat model
//
// Stops: session fixation (unknown or expired ids are never adopted, a
// planted id stops working at Renew, and __Host- cookies cannot be set by
// a sibling subdomain); session-id guessing (256-bit ids); replay of a
// cookie after logout (Flush deletes the record; with cookiestore, only
// when revocation is configured); theft of ids from the store or its
// backups (hashed keys); theft of the cookie by scripts (HttpOnly) or on
// plain-HTTP hops (Secure); cross-site request riding on the cookie for
// top-level POSTs (SameSite=Lax; use package csrf as well); a shared
// cache serving one user's page to another (Vary: Cookie); losing a
// session write silently (the response fails instead); ids in logs (never
// logged; events carry only reason, client IP, host, method and path).
//
// Does not stop: a cookie stolen from the browser and used before logout
// or expiry (bind sessions to something else, such as a client
// certificate, if that matters); concurrent requests of one session
// overwriting each other's changes (last write wins, as in Django); an
// application that forgets to call Renew at login, or stores secrets in
// a cookiestore session whose keys later leak.
package session
