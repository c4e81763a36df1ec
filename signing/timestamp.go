package signing

import (
	"fmt"
	"strings"
	"time"
)

// DefaultTimestampSignerSalt is Django's default salt for TimestampSigner.
const DefaultTimestampSignerSalt = "django.core.signing.TimestampSigner"

// DefaultMaxClockSkew is how far in the future a timestamp may be before
// it is refused (TimestampConfig.MaxClockSkew).
const DefaultMaxClockSkew = time.Minute

// DefaultMaxDecompressedSize caps what Loads inflates (1 MiB).
const DefaultMaxDecompressedSize = 1 << 20

// ErrFutureTimestamp: the signature is valid but its timestamp lies further
// in the future than the allowed clock skew. It wraps ErrBadSignature.
var ErrFutureTimestamp = fmt.Errorf("%w: timestamp in the future", ErrBadSignature)

// TimestampConfig configures a TimestampSigner.
type TimestampConfig struct {
	// Config holds the key, fallback keys, salt, separator and algorithm.
	// An empty Salt means "django.core.signing.TimestampSigner".
	Config

	// Now is the clock. Nil: time.Now. Tests inject a frozen clock.
	Now func() time.Time `toml:"-"`

	// MaxClockSkew is how far in the future a timestamp may lie (clock
	// differences between servers) before the value is refused with
	// ErrFutureTimestamp. Zero: DefaultMaxClockSkew (one minute); negative
	// is invalid. Django accepts any future timestamp; a value from the
	// future can only come from a skewed clock or from someone holding the
	// key, and in the second case it would outlive every max age.
	MaxClockSkew time.Duration `toml:"max_clock_skew"`

	// MaxDecompressedSize caps, in bytes, what Loads inflates from a
	// compressed payload; beyond it Loads fails with ErrTooLarge before
	// allocating more. Zero: DefaultMaxDecompressedSize (1 MiB); negative
	// is invalid.
	MaxDecompressedSize int `toml:"max_decompressed_size"`
}

// Validate reports whether c can build a TimestampSigner.
func (c TimestampConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.MaxClockSkew < 0 {
		return configError(nil, "MaxClockSkew = %v is negative", c.MaxClockSkew)
	}
	if c.MaxDecompressedSize < 0 {
		return configError(nil, "MaxDecompressedSize = %d is negative", c.MaxDecompressedSize)
	}
	return nil
}

// TimestampSigner is Django's TimestampSigner: value + sep + base62(unix
// seconds) + sep + signature, the signature covering value and timestamp.
// It also implements Dumps and Loads. It is safe for concurrent use.
type TimestampSigner struct {
	s       *Signer
	now     func() time.Time
	skew    time.Duration
	maxSize int
}

// NewTimestampSigner validates c and returns a TimestampSigner.
func NewTimestampSigner(c TimestampConfig) (*TimestampSigner, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s, err := newSigner(c.Config, DefaultTimestampSignerSalt)
	if err != nil {
		return nil, err
	}
	t := &TimestampSigner{s: s, now: c.Now, skew: c.MaxClockSkew, maxSize: c.MaxDecompressedSize}
	if t.now == nil {
		t.now = time.Now
	}
	if t.skew == 0 {
		t.skew = DefaultMaxClockSkew
	}
	if t.maxSize == 0 {
		t.maxSize = DefaultMaxDecompressedSize
	}
	return t, nil
}

// Sign returns value:timestamp:signature for the current time.
func (t *TimestampSigner) Sign(value string) string {
	return t.s.Sign(value + t.s.sep + B62Encode(t.now().Unix()))
}

// Unsign verifies signed and returns its value. A maxAge > 0 refuses
// values whose age is greater than maxAge with ErrSignatureExpired (an age
// equal to maxAge is still valid, as in Django); maxAge == 0 checks no age;
// a negative maxAge (a miscomputed limit) refuses every value with
// ErrSignatureExpired, as Django's does, rather than check no age.
// A timestamp further in the future than the clock skew is refused with
// ErrFutureTimestamp whatever maxAge is.
func (t *TimestampSigner) Unsign(signed string, maxAge time.Duration) (string, error) {
	v, _, err := t.UnsignTime(signed, maxAge)
	return v, err
}

// UnsignTime is Unsign that also returns when the value was signed.
func (t *TimestampSigner) UnsignTime(signed string, maxAge time.Duration) (string, time.Time, error) {
	inner, err := t.s.Unsign(signed)
	if err != nil {
		return "", time.Time{}, err
	}
	i := strings.LastIndex(inner, t.s.sep)
	if i < 0 {
		// Validly signed but without a timestamp: signed by a plain Signer
		// sharing key and salt. Refuse rather than treat it as ageless.
		return "", time.Time{}, fmt.Errorf("%w: no timestamp", ErrBadSignature)
	}
	ts, err := B62Decode(inner[i+len(t.s.sep):])
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%w: malformed timestamp", ErrBadSignature)
	}
	signedAt := time.Unix(ts, 0)
	age := t.now().Sub(signedAt)
	if -age > t.skew {
		return "", time.Time{}, ErrFutureTimestamp
	}
	if maxAge < 0 || maxAge > 0 && age > maxAge {
		return "", time.Time{}, fmt.Errorf("%w: age %v > %v", ErrSignatureExpired, age, maxAge)
	}
	return inner[:i], signedAt, nil
}
