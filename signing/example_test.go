package signing_test

import (
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/bulwarkdev/bulwark/signing"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// A value signed by Django with the same key verifies in Go; a modified
// one is refused.
func ExampleSigner_Unsign() {
	s, err := signing.NewSigner(signing.Config{Key: []byte("predictable-secret")})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Sign("hello"))

	v, err := s.Unsign("hello:T8oWtiMIRTzcoR3NRO-2PQNf5dTweZy0EL25Kt6lUo0")
	fmt.Println(v, err)

	_, err = s.Unsign("admin:T8oWtiMIRTzcoR3NRO-2PQNf5dTweZy0EL25Kt6lUo0")
	fmt.Println(errors.Is(err, signing.ErrBadSignature))
	// Output:
	// hello:T8oWtiMIRTzcoR3NRO-2PQNf5dTweZy0EL25Kt6lUo0
	// hello <nil>
	// true
}

// Signed cookies use the length-prefixed salt of CVE-2026-6873: a cookie
// signed for name "a" with salt "bc" does not verify as name "ab", salt "c".
func ExampleCookieSigner() {
	s, err := signing.NewCookieSigner(signing.CookieConfig{Key: []byte("django_tests_secret_key")})
	if err != nil {
		panic(err)
	}
	signed := s.Sign("a", "hello", "bc")
	_, err = s.Unsign("ab", signed, "c", 0)
	fmt.Println(errors.Is(err, signing.ErrBadSignature))
	v, _ := s.Unsign("a", signed, "bc", 0)
	fmt.Println(v)
	// Output:
	// true
	// hello
}

// A JSON document signed without a timestamp, as Django's sign_object signs
// the messages cookie: Django's value reads back, an edited payload is
// refused.
func ExampleSigner_UnsignObject() {
	s, err := signing.NewSigner(signing.Config{Key: []byte("predictable-secret")})
	if err != nil {
		panic(err)
	}
	var got []string
	err = s.UnsignObject("WyJhIiwibGlzdCJd:3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEs", &got)
	fmt.Println(got, err)

	forged := b64([]byte(`["admin"]`)) + ":3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEs"
	err = s.UnsignObject(forged, &got)
	fmt.Println(errors.Is(err, signing.ErrBadSignature))
	// Output:
	// [a list] <nil>
	// true
}
