// Package signing signs and verifies values with HMAC, compatibly with
// Django's django.core.signing, so Go and Django services sharing a secret
// read each other's signed values byte for byte.
//
//   - Signer: value + ":" + base64url(HMAC-SHA256), with a salt per purpose
//     and fallback keys that verify but never sign (key rotation, Django's
//     SECRET_KEY_FALLBACKS). SignObject and UnsignObject sign JSON
//     documents without a timestamp (Django's sign_object/unsign_object).
//   - TimestampSigner: adds a base62 timestamp; Unsign takes a maximum age.
//     Dumps and Loads sign JSON documents (Django's dumps/loads), with
//     optional zlib compression.
//   - CookieSigner: Django's set_signed_cookie/get_signed_cookie, with the
//     length-prefixed salt of CVE-2026-6873.
//   - SaltedHMAC: Django's salted_hmac, for values such as the session auth
//     hash.
//
// # Deviations from Django
//
//   - Future timestamps: Django accepts a timestamp from any future time;
//     TimestampSigner refuses one more than MaxClockSkew (default one
//     minute) ahead, with ErrFutureTimestamp. Only a skewed clock or a key
//     holder produces such values, and a far-future value would outlive
//     every maximum age.
//   - Decompression is capped (MaxDecompressedSize, default 1 MiB): Loads
//     fails with ErrTooLarge instead of inflating without bound.
//   - SHA-1 never signs. It verifies only when AllowInsecureSHA1Verify is
//     set (values from Django before 3.1). SaltedHMAC takes no implicit
//     algorithm (Django 6.2 still defaults to SHA-1 there).
//   - A maximum age of 0 means no limit (Go's zero value); Django's
//     max_age=0, which expires any value older than zero seconds, is a
//     maximum age of one nanosecond here (timestamps are whole seconds).
//   - Values are strings: Python's str() of non-strings (True, 1.5) is the
//     caller's business. Go's zero separator means ":"; Django's explicit
//     empty separator (an error there) cannot be expressed.
//   - zlib output differs from Python's, so a compressed Dumps is not
//     byte-identical to Django's (both read each other's). Go's deflate
//     finds no 3-byte matches, so short inputs compress less often.
//
// # Threat model
//
// Stops: forging or modifying a signed value without a key (every byte of
// the value, the timestamp and the '.' compression marker is covered by
// the HMAC, compared in constant time as text so no second spelling of a
// signature verifies); replaying a value signed for one purpose in another
// (salts; the cookie salt is length-prefixed so name and salt cannot trade
// characters); using a value older than the maximum age; zip bombs
// (decompression only after verification, and capped even then).
//
// Does not stop: reading the data (signing is not encryption: use
// session/cookiestore for confidential data); replaying a value within its
// maximum age (add server state, such as a session generation, to revoke);
// anything once a key leaks (rotate: new Key, old key in FallbackKeys until
// its values expire, then drop it). Salts are not secrets. Django's key
// derivation H(salt || key) is kept for compatibility; it is sound for
// HMAC with the fixed salts used here.
package signing
