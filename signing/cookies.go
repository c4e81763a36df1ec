package signing

import (
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// cookieKeyPrefix is prepended to every key for signed cookies, as
// django.http.request/response do, so a cookie signature never verifies as
// a signature made for another purpose with the bare key.
const cookieKeyPrefix = "django.http.cookies"

// CookieConfig configures a CookieSigner.
type CookieConfig struct {
	// Key is the secret (Django's SECRET_KEY). Required.
	Key []byte `toml:"key"`

	// FallbackKeys verify but never sign (SECRET_KEY_FALLBACKS).
	FallbackKeys [][]byte `toml:"fallback_keys"`

	// AllowInsecureLegacySalt also accepts cookies signed with Django's
	// pre-CVE-2026-6873 salt (cookie name + salt), whose concatenation lets
	// a cookie signed for name "a" with salt "bc" verify as name "ab" with
	// salt "c". Default false (Django's default from 6.1 on). An expired
	// cookie is never retried with the legacy salt.
	AllowInsecureLegacySalt bool `toml:"allow_insecure_legacy_salt"`

	// Now is the clock. Nil: time.Now.
	Now func() time.Time `toml:"-"`

	// MaxClockSkew: see TimestampConfig. Zero: one minute.
	MaxClockSkew time.Duration `toml:"max_clock_skew"`
}

// CookieSigner signs cookie values as Django's set_signed_cookie and
// get_signed_cookie do, so Go and Django services sharing a key read each
// other's signed cookies. It is safe for concurrent use.
type CookieSigner struct {
	c CookieConfig
}

// NewCookieSigner validates c and returns a CookieSigner.
func NewCookieSigner(c CookieConfig) (*CookieSigner, error) {
	if _, err := c.signer("x"); err != nil {
		return nil, err
	}
	c.FallbackKeys = append([][]byte(nil), c.FallbackKeys...)
	c.Key = append([]byte(nil), c.Key...)
	return &CookieSigner{c: c}, nil
}

// cookieSalt is the CVE-2026-6873 salt: the length prefix makes the split
// between salt and cookie name unambiguous. The length is Python's len(),
// in characters (code points), not bytes, or a non-ASCII salt would give a
// signature Django refuses.
func cookieSalt(name, salt string) string {
	return "django.http.cookies.v2:" + strconv.Itoa(utf8.RuneCountInString(salt)) + ":" + salt + name
}

func (c CookieConfig) signer(salt string) (*TimestampSigner, error) {
	if len(c.Key) == 0 {
		return nil, configError(ErrNoKey, "key is required")
	}
	prefixed := func(k []byte) []byte { return append([]byte(cookieKeyPrefix), k...) }
	cfg := TimestampConfig{
		Config: Config{
			Key:  prefixed(c.Key),
			Salt: salt,
		},
		Now:          c.Now,
		MaxClockSkew: c.MaxClockSkew,
	}
	for i, k := range c.FallbackKeys {
		if len(k) == 0 {
			return nil, configError(nil, "fallback_keys[%d] is empty", i)
		}
		cfg.FallbackKeys = append(cfg.FallbackKeys, prefixed(k))
	}
	return NewTimestampSigner(cfg)
}

// Sign returns the signed value for cookie name with salt (Django's
// set_signed_cookie(name, value, salt=salt)).
func (s *CookieSigner) Sign(name, value, salt string) string {
	t, _ := s.c.signer(cookieSalt(name, salt))
	return t.Sign(value)
}

// Unsign verifies the value of cookie name with salt (Django's
// get_signed_cookie without a default). maxAge as in TimestampSigner.Unsign.
func (s *CookieSigner) Unsign(name, signed, salt string, maxAge time.Duration) (string, error) {
	t, _ := s.c.signer(cookieSalt(name, salt))
	v, err := t.Unsign(signed, maxAge)
	if err == nil || !s.c.AllowInsecureLegacySalt || errors.Is(err, ErrSignatureExpired) {
		return v, err
	}
	legacy, _ := s.c.signer(name + salt)
	return legacy.Unsign(signed, maxAge)
}
