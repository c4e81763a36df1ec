// Package cookiestore keeps the whole session in the cookie, encrypted and
// authenticated with XChaCha20-Poly1305, as a session.CookieStore.
//
// The cookie is base64url(nonce || ciphertext), the plaintext holding a
// format version, the expiry, the session key and the data. Keys are
// derived from the configured secrets with HKDF-SHA256; the first key
// seals, every key opens, so rotation is: prepend a new secret, keep the
// old ones until their cookies have expired, then drop them.
//
// Without server state a cookie session cannot be revoked: logout deletes
// the cookie in the browser, but a copy taken earlier (by malware, a
// shared computer, a proxy log) stays valid until it expires. Setting
// Config.Revocations keeps one small record per session in a
// session.Store; Open then refuses a cookie whose record is gone or
// revoked, so logout (Flush) and Renew revoke every earlier cookie of the
// session. That costs one store read per request that reads the session.
//
// # Threat model
//
// Stops: reading the session (encryption: Django's signed_cookies backend
// only signs); forging, modifying, truncating or splicing a cookie
// (AEAD); using a cookie after its expiry (the expiry is inside the
// sealed payload, not only in the cookie's Max-Age); with Revocations,
// replaying a cookie after logout or after the session was renewed.
//
// Does not stop: replaying an earlier cookie of a live session (for
// example to roll back a counter kept in it: keep such state on the
// server); a cookie stolen and used before logout; anything once a key
// leaks (rotate it; every cookie sealed with it can then be read, so do
// not keep secrets in sessions). Sessions are limited to what fits in a
// cookie: Seal fails with session.ErrCookieTooLarge beyond
// Config.MaxValueSize rather than truncating.
package cookiestore
