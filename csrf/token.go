package csrf

import (
	"crypto/rand"
	"crypto/subtle"
)

// The token format is Django's (django/middleware/csrf.py), so tokens and
// cookies interoperate with a Django application behind the same domain and
// Django's own test vectors apply unchanged.
const (
	// SecretLength is the length of the unmasked secret kept in the cookie
	// or the session: 32 characters from [A-Za-z0-9].
	SecretLength = 32
	// TokenLength is the length of a masked token: a 32-character mask
	// followed by the 32-character cipher of the secret.
	TokenLength = 2 * SecretLength
)

// chars is Django's alphabet, in Django's order: the mask/unmask cipher adds
// and subtracts indexes into it, so the order is part of the format.
const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// charIndex maps a byte to its index in chars, or -1.
var charIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = int8(i)
	}
	return t
}()

// formatProblem is why a stored or submitted value is not a token.
type formatProblem uint8

const (
	formatOK formatProblem = iota
	formatLength
	formatChars
)

// checkFormat applies Django's _check_token_format: the length must be 32
// or 64 (checked first), and every character must be in [A-Za-z0-9].
func checkFormat(s string) formatProblem {
	if len(s) != SecretLength && len(s) != TokenLength {
		return formatLength
	}
	for i := 0; i < len(s); i++ {
		if charIndex[s[i]] < 0 {
			return formatChars
		}
	}
	return formatOK
}

// newSecret returns a fresh secret: 32 characters drawn uniformly from the
// 62-character alphabet with crypto/rand. Bytes at or above 248 (4*62) are
// rejected so that the modulo does not bias the draw.
func newSecret() (s [SecretLength]byte) {
	var buf [2 * SecretLength]byte
	n := 0
	for n < SecretLength {
		rand.Read(buf[:]) // never returns an error (crypto/rand, Go 1.24+)
		for _, b := range buf {
			if b >= 248 {
				continue
			}
			s[n] = chars[b%62]
			n++
			if n == SecretLength {
				break
			}
		}
	}
	return s
}

// mask returns a fresh 64-character masked token for secret: a random mask
// followed by chars[(idx(secret_i)+idx(mask_i)) mod 62]. Masking makes the
// token different in every response, so a compression side channel
// (BREACH) cannot recover the secret from pages that embed it.
func mask(secret *[SecretLength]byte) string {
	m := newSecret()
	var out [TokenLength]byte
	copy(out[:SecretLength], m[:])
	for i := 0; i < SecretLength; i++ {
		out[SecretLength+i] = chars[(int(charIndex[secret[i]])+int(charIndex[m[i]]))%62]
	}
	return string(out[:])
}

// unmask recovers the secret from a 64-character token whose characters are
// all in the alphabet (checkFormat must have passed):
// secret_i = chars[(idx(cipher_i) - idx(mask_i)) mod 62].
func unmask(token string) (s [SecretLength]byte) {
	mask, cipher := token[:SecretLength], token[SecretLength:TokenLength]
	for i := range s {
		d := int(charIndex[cipher[i]]) - int(charIndex[mask[i]])
		// d is in -61..61: add 62 when negative, without a branch (the
		// sign bit spread over the word selects the 62).
		d += 62 & (d >> 63)
		s[i] = chars[d]
	}
	return s
}

// toSecret turns a well-formed stored or submitted value (32 or 64
// characters, checkFormat passed) into the 32-character secret it stands
// for: bare secrets are taken as they are, masked ones are unmasked.
func toSecret(v string) (s [SecretLength]byte) {
	if len(v) == TokenLength {
		return unmask(v)
	}
	copy(s[:], v)
	return s
}

// secretsEqual compares two secrets in constant time, so the comparison
// leaks nothing about how many leading characters an attacker got right.
func secretsEqual(a, b *[SecretLength]byte) bool {
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}
