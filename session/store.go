package session

import (
	"context"
	"errors"
	"time"
)

// Store keeps session records on the server, keyed by a string.
//
// The key a Store sees is never the session id the client holds: the
// manager passes a hash of the id (see Manager), so a leaked store dump or
// a log line of a store key cannot be replayed as a cookie.
//
// The contract, which package sessiontest checks for every store:
//   - Find returns found == false and a nil error for a key that is unknown,
//     expired, or whose record is unusable (tampered, undecodable). A
//     non-nil error means the store itself failed (unreachable, timed out,
//     ctx cancelled) and the caller must not treat the session as empty.
//   - Commit stores data under key until expiry (absolute time), replacing
//     any previous record for key. A record whose expiry has passed is never
//     returned by Find, even if it is still physically stored.
//   - Delete removes the record; deleting an unknown key is not an error.
//   - Every method honours ctx: a cancelled or expired ctx yields an error
//     (wrapping ctx.Err()) and no partial write.
//   - Methods are safe for concurrent use.
//   - The data slice passed to Commit and returned by Find belongs to the
//     caller afterwards: stores copy what they keep.
type Store interface {
	Find(ctx context.Context, key string) (data []byte, found bool, err error)
	Commit(ctx context.Context, key string, data []byte, expiry time.Time) error
	Delete(ctx context.Context, key string) error
}

// Purger is implemented by stores that keep expired records until they are
// swept (SQL stores). Purge deletes every expired record and returns how many
// were removed. Stores that expire records by themselves (Redis TTLs, the
// memory store's own sweep) need not implement it.
type Purger interface {
	Purge(ctx context.Context) (removed int64, err error)
}

// Updater is implemented by stores that can replace a record only if it
// still exists, atomically (SQL UPDATE ... WHERE key, Redis SET ... XX).
// The manager saves a session it loaded with Update, so that a save racing
// a logout (a concurrent request's Flush or Renew deleted the record)
// cannot bring the session back: Update reports found == false, nothing
// is written, and the request ends in 400, as Django's SessionInterrupted.
// For stores without it the manager checks with Find before Commit, a
// narrower guard that costs one more read and is not atomic.
//
// Update follows the Store contract otherwise: an expired record counts
// as absent, data is copied, ctx is honoured.
type Updater interface {
	Update(ctx context.Context, key string, data []byte, expiry time.Time) (found bool, err error)
}

// CookieStore keeps the whole session in the cookie instead of on the
// server (package cookiestore). The manager accepts one in place of a
// Store (Config.CookieStore).
//
// The key passed to Seal and Revoke and returned by Open identifies the
// session (the manager's hash of a random id, never the id itself); a
// CookieStore with server-side revocation stores records under it.
//
// The contract, which sessiontest.RunCookieStore checks:
//   - Seal returns a cookie value that only this store (with one of its
//     keys) can open, carrying key, data and expiry; the value is
//     confidential and authenticated. It returns an error wrapping
//     ErrCookieTooLarge when the value would not fit in a cookie.
//   - Open returns found == false and a nil error for a value that is
//     forged, modified, truncated, expired, sealed with a retired key, or
//     revoked. A non-nil error means the store failed (its revocation
//     backend is unreachable, ctx cancelled) and the caller must not treat
//     the session as empty.
//   - With server-side revocation, Seal fails with an error wrapping
//     ErrRevoked for a key revoked earlier (a concurrent logout), so a
//     late save cannot bring a revoked session back.
//   - Revoke makes every value sealed for key unusable, when the store
//     keeps server state; without it Revoke does nothing and returns nil
//     (a stolen cookie then stays valid until its expiry).
//   - Every method honours ctx and is safe for concurrent use; data
//     returned by Open belongs to the caller.
type CookieStore interface {
	Seal(ctx context.Context, key string, data []byte, expiry time.Time) (value string, err error)
	Open(ctx context.Context, value string) (key string, data []byte, found bool, err error)
	Revoke(ctx context.Context, key string) error
}

// ErrCookieTooLarge is returned (wrapped) by CookieStore.Seal when the
// sealed session would not fit in a browser cookie (4096 bytes for name,
// value and attributes). The manager then fails the request instead of
// dropping data.
var ErrCookieTooLarge = errors.New("session: session too large for a cookie")

// ErrRevoked is returned (wrapped) by CookieStore.Seal when the session
// was revoked while the request was running (a logout in a concurrent
// request). The manager answers 400, as Django does for its
// SessionInterrupted, instead of bringing the session back.
var ErrRevoked = errors.New("session: session was revoked during the request")
