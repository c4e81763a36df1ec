package signing

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
)

// Algorithm names the hash behind an HMAC, spelled as Django and Python's
// hashlib spell it.
type Algorithm string

// The algorithms a Signer accepts. SHA256 is the default.
const (
	SHA256 Algorithm = "sha256"
	SHA384 Algorithm = "sha384"
	SHA512 Algorithm = "sha512"
	SHA224 Algorithm = "sha224"

	// InsecureSHA1 is accepted by SaltedHMAC, and by a Signer only to verify
	// values Django signed before 3.1 (see Config.AllowInsecureSHA1Verify).
	// Nothing in this package signs with SHA-1.
	InsecureSHA1 Algorithm = "sha1"
)

// newHash returns the constructor for alg, or ErrInvalidAlgorithm.
func newHash(alg Algorithm) (func() hash.Hash, error) {
	switch alg {
	case SHA256:
		return sha256.New, nil
	case SHA384:
		return sha512.New384, nil
	case SHA512:
		return sha512.New, nil
	case SHA224:
		return sha256.New224, nil
	case InsecureSHA1:
		return sha1.New, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrInvalidAlgorithm, string(alg))
}

// SaltedHMAC is Django's salted_hmac: HMAC-alg keyed with
// alg(keySalt || secret), over value. It is exposed for interoperability
// (Django's session auth hash, password-reset tokens); new designs should
// prefer a Signer, whose salt cannot be confused with its key.
//
// Unlike Django 6.2, there is no implicit algorithm: alg must be given,
// and InsecureSHA1 is only accepted because it is named.
func SaltedHMAC(alg Algorithm, keySalt string, value, secret []byte) ([]byte, error) {
	h, err := newHash(alg)
	if err != nil {
		return nil, err
	}
	return saltedHMAC(h, deriveKey(h, keySalt, secret), value), nil
}

// deriveKey is Django's key derivation: H(salt || secret). The plain
// concatenation is kept for compatibility; callers that build salts from
// several parts must make them unambiguous themselves (see CookieSigner).
func deriveKey(h func() hash.Hash, salt string, secret []byte) []byte {
	d := h()
	d.Write([]byte(salt))
	d.Write(secret)
	return d.Sum(nil)
}

func saltedHMAC(h func() hash.Hash, key, value []byte) []byte {
	m := hmac.New(h, key)
	m.Write(value)
	return m.Sum(nil)
}
