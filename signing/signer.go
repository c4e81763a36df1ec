package signing

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Sentinel errors. ErrSignatureExpired wraps ErrBadSignature, as Django's
// SignatureExpired subclasses BadSignature: code that only cares whether a
// value can be trusted checks errors.Is(err, ErrBadSignature).
var (
	// ErrBadSignature: the value was not produced by a signer holding one of
	// the keys, for this salt, or it was modified or truncated.
	ErrBadSignature = errors.New("signing: bad signature")
	// ErrSignatureExpired: the signature is valid but older than the
	// maximum age.
	ErrSignatureExpired = fmt.Errorf("%w: signature expired", ErrBadSignature)
	// ErrConfig is wrapped by every configuration error of Validate and
	// New (with ErrNoKey, ErrInvalidAlgorithm or ErrUnsafeSeparator when
	// one of them is the problem).
	ErrConfig = errors.New("signing: invalid configuration")
	// ErrInvalidAlgorithm: an algorithm name this package does not know,
	// or one it cannot sign with.
	ErrInvalidAlgorithm = errors.New("signing: invalid algorithm")
	// ErrUnsafeSeparator: a separator Django refuses (empty, or only
	// characters of the base64url alphabet).
	ErrUnsafeSeparator = errors.New("signing: unsafe separator")
	// ErrNoKey: a Config without a Key.
	ErrNoKey = errors.New("signing: no key")
	// ErrTooLarge: a decompressed payload is larger than the configured cap.
	ErrTooLarge = errors.New("signing: decompressed payload too large")
)

// DefaultSignerSalt is Django's default salt for Signer ("module.ClassName").
const DefaultSignerSalt = "django.core.signing.Signer"

// Config configures a Signer. The zero value is not usable: Key is
// required. Every other field has a Django-compatible default.
type Config struct {
	// Key is the secret (Django's SECRET_KEY). Required, never logged. Use at
	// least 32 random bytes.
	Key []byte `toml:"key"`

	// FallbackKeys verify but never sign (Django's SECRET_KEY_FALLBACKS).
	// Rotation: put the new key in Key, the old one first here, and remove
	// it once every value signed with it has expired. Nil or empty: none.
	FallbackKeys [][]byte `toml:"fallback_keys"`

	// Salt namespaces signatures so that a value signed for one purpose is
	// refused for another. Empty: "django.core.signing.Signer" for a
	// Signer, "django.core.signing.TimestampSigner" for a TimestampSigner
	// (Django's defaults). Use a distinct salt per purpose.
	Salt string `toml:"salt"`

	// Sep separates the value from its signature. Empty: ":". Django's rule
	// applies: a separator made only of characters matching the regular
	// expression [A-z0-9-_=] is refused, including, like Django (whose
	// range A-z also spans them), the characters [ \ ] ^ and backtick.
	Sep string `toml:"sep"`

	// Algorithm is the HMAC hash. Empty: SHA256. InsecureSHA1 is refused:
	// to accept values Django signed with SHA-1 before 3.1, set
	// AllowInsecureSHA1Verify instead.
	Algorithm Algorithm `toml:"algorithm"`

	// AllowInsecureSHA1Verify also accepts HMAC-SHA1 signatures (Django's
	// pre-3.1 default) when verifying, with every key. New signatures still
	// use Algorithm. Default false: SHA-1 signatures are refused. Enable it
	// only during a migration from an old Django deployment.
	AllowInsecureSHA1Verify bool `toml:"allow_insecure_sha1_verify"`
}

// Validate reports whether c can build a Signer.
func (c Config) Validate() error {
	if len(c.Key) == 0 {
		return configError(ErrNoKey, "key is required")
	}
	for i, k := range c.FallbackKeys {
		if len(k) == 0 {
			return configError(nil, "fallback_keys[%d] is empty", i)
		}
	}
	if c.Algorithm == InsecureSHA1 {
		return configError(ErrInvalidAlgorithm, "algorithm = %q cannot sign (set AllowInsecureSHA1Verify to verify legacy values)", string(c.Algorithm))
	}
	if c.Algorithm != "" {
		if _, err := newHash(c.Algorithm); err != nil {
			return configError(ErrInvalidAlgorithm, "algorithm = %q: use %q, %q, %q or %q", string(c.Algorithm), SHA256, SHA384, SHA512, SHA224)
		}
	}
	if c.Sep != "" && unsafeSep(c.Sep) {
		return configError(ErrUnsafeSeparator, "sep = %q: cannot be empty or consist of only A-z0-9-_=", c.Sep)
	}
	return nil
}

// cfgError is a configuration problem: its message is ErrConfig's text and
// the detail, and it wraps ErrConfig and its kind (nil: none), so that
// errors.Is finds either without the message naming the package twice.
type cfgError struct {
	kind error
	msg  string
}

func configError(kind error, format string, args ...any) error {
	return &cfgError{kind: kind, msg: ErrConfig.Error() + ": " + fmt.Sprintf(format, args...)}
}

func (e *cfgError) Error() string { return e.msg }

func (e *cfgError) Unwrap() []error {
	if e.kind == nil {
		return []error{ErrConfig}
	}
	return []error{ErrConfig, e.kind}
}

// unsafeSep is Django's ^[A-z0-9-_=]*$. The range A-z is a Django quirk
// kept on purpose: it also covers [ \ ] ^ _ and backtick, and refusing
// them is harmless while accepting them would sign values Django refuses.
func unsafeSep(sep string) bool {
	for i := 0; i < len(sep); i++ {
		c := sep[i]
		if !('A' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '=') {
			return false
		}
	}
	return true
}

// verifier is one (algorithm, key) pair that may have produced a signature.
type verifier struct {
	h   func() hash.Hash
	key []byte // H(salt + "signer" + secret)
}

// Signer signs strings with HMAC as Django's django.core.signing.Signer
// does: value + sep + base64url(HMAC). It is safe for concurrent use.
type Signer struct {
	sep       string
	sign      verifier
	verifiers []verifier // sign first, then fallbacks, then legacy SHA-1
}

// NewSigner validates c and returns a Signer.
func NewSigner(c Config) (*Signer, error) {
	return newSigner(c, DefaultSignerSalt)
}

func newSigner(c Config, defaultSalt string) (*Signer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Salt == "" {
		c.Salt = defaultSalt
	}
	if c.Sep == "" {
		c.Sep = ":"
	}
	if c.Algorithm == "" {
		c.Algorithm = SHA256
	}
	h, _ := newHash(c.Algorithm)
	keySalt := c.Salt + "signer"
	s := &Signer{sep: c.Sep}
	keys := append([][]byte{c.Key}, c.FallbackKeys...)
	for _, k := range keys {
		s.verifiers = append(s.verifiers, verifier{h, deriveKey(h, keySalt, k)})
	}
	if c.AllowInsecureSHA1Verify {
		for _, k := range keys {
			s.verifiers = append(s.verifiers, verifier{sha1New, deriveKey(sha1New, keySalt, k)})
		}
	}
	s.sign = s.verifiers[0]
	return s, nil
}

var sha1New, _ = newHash(InsecureSHA1)

// Sep returns the separator.
func (s *Signer) Sep() string { return s.sep }

// Signature returns the signature of value under the primary key.
func (s *Signer) Signature(value string) string {
	return s.sign.signature(value)
}

func (v verifier) signature(value string) string {
	return base64.RawURLEncoding.EncodeToString(saltedHMAC(v.h, v.key, []byte(value)))
}

// Sign returns value + sep + signature, always with the primary key.
func (s *Signer) Sign(value string) string {
	return value + s.sep + s.Signature(value)
}

// Unsign verifies signed and returns the value before the last separator.
// Any failure is ErrBadSignature; the error never quotes the input.
func (s *Signer) Unsign(signed string) (string, error) {
	i := strings.LastIndex(signed, s.sep)
	if i < 0 {
		return "", fmt.Errorf("%w: no %q found in value", ErrBadSignature, s.sep)
	}
	value, sig := signed[:i], signed[i+len(s.sep):]
	if s.verify(value, sig) {
		return value, nil
	}
	return "", fmt.Errorf("%w: signature does not match", ErrBadSignature)
}

// verify compares sig with each accepted signature of value in constant
// time. It compares the base64 text, as Django does, not decoded bytes: Go's
// base64 decoder ignores newlines and (unless strict) padding bits, which
// would let several spellings of one signature verify.
func (s *Signer) verify(value, sig string) bool {
	for _, v := range s.verifiers {
		if hmac.Equal([]byte(sig), []byte(v.signature(value))) {
			return true
		}
	}
	return false
}
