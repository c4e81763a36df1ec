package demo

import (
	"crypto/sha256"
	"crypto/subtle"
)

// The demo's one user. The password is printed on the sign-in page: the
// demo protects nothing, it shows how sign-in is protected (session id
// renewed, CSRF token rotated, cookies __Host-, Secure, HttpOnly, SameSite).
const (
	DemoUser     = "demo"
	DemoPassword = "correct-horse-battery-staple"
)

// checkPassword compares in constant time (over fixed-length digests, so
// the length of the guess does not leak either).
func checkPassword(user, password string) bool {
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(password))
	wu := sha256.Sum256([]byte(DemoUser))
	wp := sha256.Sum256([]byte(DemoPassword))
	return subtle.ConstantTimeCompare(u[:], wu[:])&subtle.ConstantTimeCompare(p[:], wp[:]) == 1
}
