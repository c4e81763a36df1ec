package cookiestore

import (
	"context"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/bulwarkdev/bulwark/session"
)

// DefaultMaxValueSize leaves room for the cookie's name and attributes
// within the 4096 bytes browsers keep for a cookie.
const DefaultMaxValueSize = 3900

// MinKeySize is the minimum length of a secret, in bytes.
const MinKeySize = 32

const (
	version  = 1
	hkdfInfo = "bulwark session cookie v1"
	// ad binds ciphertexts to this use: a value sealed by another
	// XChaCha20-Poly1305 user of the same secret does not open here.
	ad = "bulwark session cookie v1"

	liveRecord    = 'L'
	revokedRecord = 'R'
)

// Config configures a Store.
type Config struct {
	// Keys are secrets of at least 32 random bytes. The first seals, all
	// open (rotation). Required. Never logged.
	Keys [][]byte `toml:"keys"`

	// Revocations, when set, keeps a record per session so that Revoke
	// (logout, Renew) refuses every cookie sealed earlier for the session.
	// Nil: no server state, and Revoke does nothing.
	Revocations session.Store `toml:"-"`

	// MaxValueSize is the largest cookie value Seal returns; beyond it
	// Seal fails with session.ErrCookieTooLarge. Zero:
	// DefaultMaxValueSize (3900 bytes); negative is invalid; more than
	// 4096 is refused (browsers would drop the cookie).
	MaxValueSize int `toml:"max_value_size"`

	// Now is the clock. Nil: time.Now.
	Now func() time.Time `toml:"-"`
}

// Validate reports whether c can build a Store.
func (c Config) Validate() error {
	if len(c.Keys) == 0 {
		return errors.New("cookiestore: no keys")
	}
	for i, k := range c.Keys {
		if len(k) < MinKeySize {
			return fmt.Errorf("cookiestore: key %d is %d bytes, want at least %d", i, len(k), MinKeySize)
		}
	}
	if c.MaxValueSize < 0 || c.MaxValueSize > 4096 {
		return fmt.Errorf("cookiestore: MaxValueSize %d out of range 0..4096", c.MaxValueSize)
	}
	return nil
}

// Store is a session.CookieStore. It is immutable and safe for concurrent
// use.
type Store struct {
	aeads   []cipher.AEAD
	revoke  session.Store
	maxSize int
	now     func() time.Time
}

var _ session.CookieStore = (*Store)(nil)

// New validates c and returns a Store.
func New(c Config) (*Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Store{revoke: c.Revocations, maxSize: c.MaxValueSize, now: c.Now}
	if s.maxSize == 0 {
		s.maxSize = DefaultMaxValueSize
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, k := range c.Keys {
		dk, err := hkdf.Key(sha256.New, k, nil, hkdfInfo, chacha20poly1305.KeySize)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: %w", err)
		}
		a, err := chacha20poly1305.NewX(dk)
		if err != nil {
			return nil, fmt.Errorf("cookiestore: %w", err)
		}
		s.aeads = append(s.aeads, a)
	}
	return s, nil
}

// Seal encrypts key, data and expiry into a cookie value. With
// Revocations, it also records the session as live until expiry (or
// refuses with session.ErrRevoked if it was revoked meanwhile).
func (s *Store) Seal(ctx context.Context, key string, data []byte, expiry time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("cookiestore: %w", err)
	}
	if len(key) > 255 {
		return "", fmt.Errorf("cookiestore: key of %d bytes", len(key))
	}
	// plaintext: version | expiry (8 bytes, unix seconds) | len(key) | key | data
	pt := make([]byte, 0, 10+len(key)+len(data))
	pt = append(pt, version)
	pt = binary.BigEndian.AppendUint64(pt, uint64(expiry.Unix()))
	pt = append(pt, byte(len(key)))
	pt = append(pt, key...)
	pt = append(pt, data...)

	a := s.aeads[0]
	size := base64.RawURLEncoding.EncodedLen(a.NonceSize() + len(pt) + a.Overhead())
	if size > s.maxSize {
		return "", fmt.Errorf("%w: %d bytes sealed, limit %d", session.ErrCookieTooLarge, size, s.maxSize)
	}
	if s.revoke != nil {
		if err := s.markLive(ctx, key, expiry); err != nil {
			return "", err
		}
	}
	buf := make([]byte, a.NonceSize(), a.NonceSize()+len(pt)+a.Overhead())
	rand.Read(buf) // a random 192-bit nonce never repeats in practice
	sealed := a.Seal(buf, buf, pt, []byte(ad))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open decrypts a cookie value. Forged, modified, truncated, expired,
// unknown-key and revoked values are not found (nil error); an error
// means the revocation store failed.
func (s *Store) Open(ctx context.Context, value string) (string, []byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", nil, false, fmt.Errorf("cookiestore: %w", err)
	}
	a0 := s.aeads[0]
	minLen := a0.NonceSize() + a0.Overhead() + 10
	if len(value) > 4096 || base64.RawURLEncoding.DecodedLen(len(value)) < minLen {
		return "", nil, false, nil
	}
	// Only the base64url alphabet: Go's decoder skips '\r' and '\n', which
	// would give one sealed value several spellings.
	for i := 0; i < len(value); i++ {
		if c := value[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", nil, false, nil
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil || len(raw) < minLen {
		return "", nil, false, nil
	}
	nonce, ct := raw[:a0.NonceSize()], raw[a0.NonceSize():]
	var pt []byte
	for _, a := range s.aeads {
		// Open into a fresh buffer: ct is not ours to overwrite on failure.
		if p, err := a.Open(nil, nonce, ct, []byte(ad)); err == nil {
			pt = p
			break
		}
	}
	if len(pt) < 10 || pt[0] != version {
		return "", nil, false, nil
	}
	expiry := time.Unix(int64(binary.BigEndian.Uint64(pt[1:9])), 0)
	kl := int(pt[9])
	if len(pt) < 10+kl || !s.now().Before(expiry) {
		return "", nil, false, nil
	}
	key, data := string(pt[10:10+kl]), pt[10+kl:]
	if s.revoke != nil {
		live, err := s.isLive(ctx, key)
		if err != nil || !live {
			return "", nil, false, err
		}
	}
	return key, data, true, nil
}

// Revoke refuses every cookie sealed for key from now on. Without
// Revocations it does nothing.
func (s *Store) Revoke(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cookiestore: %w", err)
	}
	if s.revoke == nil {
		return nil
	}
	rec, found, err := s.revoke.Find(ctx, key)
	if err != nil {
		return fmt.Errorf("cookiestore: revocation store: %w", err)
	}
	if !found {
		return nil // never live, or already expired: no cookie can open
	}
	// A tombstone, not a deletion, kept as long as the longest cookie of
	// the session: a concurrent request's Seal must not bring it back.
	until := recordExpiry(rec)
	if now := s.now(); until.Before(now) {
		until = now
	}
	if err := s.revoke.Commit(ctx, key, record(revokedRecord, until), until.Add(time.Minute)); err != nil {
		return fmt.Errorf("cookiestore: revocation store: %w", err)
	}
	return nil
}

func (s *Store) markLive(ctx context.Context, key string, expiry time.Time) error {
	rec, found, err := s.revoke.Find(ctx, key)
	if err != nil {
		return fmt.Errorf("cookiestore: revocation store: %w", err)
	}
	if found && len(rec) > 0 && rec[0] == revokedRecord {
		return session.ErrRevoked
	}
	if found {
		// Keep the record alive as long as the longest-lived cookie.
		if e := recordExpiry(rec); e.After(expiry) {
			expiry = e
		}
	}
	if err := s.revoke.Commit(ctx, key, record(liveRecord, expiry), expiry); err != nil {
		return fmt.Errorf("cookiestore: revocation store: %w", err)
	}
	return nil
}

func (s *Store) isLive(ctx context.Context, key string) (bool, error) {
	rec, found, err := s.revoke.Find(ctx, key)
	if err != nil {
		return false, fmt.Errorf("cookiestore: revocation store: %w", err)
	}
	return found && len(rec) == 9 && rec[0] == liveRecord, nil
}

// record is a revocation record: state byte and expiry (unix seconds).
func record(state byte, expiry time.Time) []byte {
	return binary.BigEndian.AppendUint64([]byte{state}, uint64(expiry.Unix()))
}

func recordExpiry(rec []byte) time.Time {
	if len(rec) != 9 {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(rec[1:])), 0)
}
