package sessiontest

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
)

// CookieStoreSuite describes the session.CookieStore under test.
type CookieStoreSuite struct {
	// New returns a fresh store, usable until t ends. It is called once
	// per subtest.
	New func(t *testing.T) session.CookieStore
	// Revokes is true when the store keeps server state so that Revoke
	// refuses earlier cookies; false when Revoke is documented to do
	// nothing.
	Revokes bool
}

// RunCookieStore checks a session.CookieStore against the contract
// written on the interface: round trips, confidentiality, tampering and
// truncation, expiry carried inside the cookie, the size limit,
// revocation (when the store revokes), context cancellation, data
// ownership and concurrent use. It sleeps about a second in all (the
// expiry test allows stores whose expiry has one-second granularity).
func RunCookieStore(t *testing.T, suite CookieStoreSuite) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s session.CookieStore, revokes bool)
	}{
		{"RoundTrip", testSealOpen},
		{"Confidential", testConfidential},
		{"FreshNonces", testFreshNonces},
		{"Tampered", testTampered},
		{"Truncated", testTruncated},
		{"Garbage", testGarbage},
		{"Expiry", testCookieExpiry},
		{"PastExpiry", testCookiePastExpiry},
		{"TooLarge", testTooLarge},
		{"Revoke", testRevoke},
		{"RevokeUnknown", testRevokeUnknown},
		{"CancelledContext", testCookieCancelled},
		{"SealCopiesData", testSealCopies},
		{"Concurrent", testCookieConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := suite.New(t)
			if s == nil {
				t.Fatal("New returned nil")
			}
			tt.fn(t, s, suite.Revokes)
		})
	}
}

// MustSeal seals data and fails the test on error.
func MustSeal(t testing.TB, s session.CookieStore, key string, data []byte, expiry time.Time) string {
	t.Helper()
	v, err := s.Seal(context.Background(), key, data, expiry)
	if err != nil {
		t.Fatalf("Seal(%q): %v", trim(key), err)
	}
	if len(v) == 0 || len(v) > 4096 {
		t.Fatalf("Seal returned a %d-byte value", len(v))
	}
	return v
}

// MustOpen opens value, failing unless it is found with key and data.
func MustOpen(t testing.TB, s session.CookieStore, value, key string, data []byte) {
	t.Helper()
	k, d, found, err := s.Open(context.Background(), value)
	if err != nil || !found {
		t.Fatalf("Open = found %v, %v; want found", found, err)
	}
	if k != key || !bytes.Equal(d, data) {
		t.Fatalf("Open = %q, %q; want %q, %q", trim(k), trim(string(d)), trim(key), trim(string(data)))
	}
}

// MustNotOpen fails unless value is refused as not found with no error.
func MustNotOpen(t testing.TB, s session.CookieStore, value string) {
	t.Helper()
	k, d, found, err := s.Open(context.Background(), value)
	if err != nil {
		t.Fatalf("Open(%q): %v, want not found and no error", trim(value), err)
	}
	if found || k != "" || d != nil {
		t.Fatalf("Open(%q) = %q, %q, found %v; want not found", trim(value), trim(k), trim(string(d)), found)
	}
}

func testSealOpen(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	for _, data := range [][]byte{[]byte(`{"user":42}`), {}, {0, 1, 2, 0xff}} {
		v := MustSeal(t, s, k, data, Live())
		MustOpen(t, s, v, k, data)
		MustOpen(t, s, v, k, data) // opening does not consume
	}
}

func testConfidential(t *testing.T, s session.CookieStore, _ bool) {
	secret := "correct-horse-battery-staple"
	k := Key()
	v := MustSeal(t, s, k, []byte(secret), Live())
	for _, leak := range []string{secret, k, "Y29ycmVjdC1ob3Jz" /* base64 of the start */} {
		if strings.Contains(v, leak) {
			t.Fatalf("sealed value %q shows %q", trim(v), leak)
		}
	}
}

func testFreshNonces(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	a := MustSeal(t, s, k, []byte("same"), Live())
	b := MustSeal(t, s, k, []byte("same"), Live())
	if a == b {
		t.Fatal("sealing the same session twice gave the same value (nonce reuse)")
	}
}

// flip returns v with the character at i replaced by another one of the
// base64url alphabet.
func flip(v string, i int) string {
	c := byte('A')
	if v[i] == 'A' {
		c = 'B'
	}
	return v[:i] + string(c) + v[i+1:]
}

func testTampered(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	v := MustSeal(t, s, k, []byte(`{"role":"user"}`), Live())
	for i := 0; i < len(v); i++ {
		// The last character may carry padding bits only; a store that
		// decodes strictly refuses it too, so every position is checked.
		MustNotOpen(t, s, flip(v, i))
	}
	MustNotOpen(t, s, v+"A")
	MustNotOpen(t, s, strings.ToUpper(v))
	// Another spelling of the same bytes is a different value: a store
	// must not skip characters (Go's base64 decoder ignores \r and \n).
	MustNotOpen(t, s, v[:10]+"\n"+v[10:])
	MustNotOpen(t, s, v[:10]+"\r\n"+v[10:])
	MustNotOpen(t, s, v+"=")
	MustNotOpen(t, s, v+v)
}

func testTruncated(t *testing.T, s session.CookieStore, _ bool) {
	v := MustSeal(t, s, Key(), []byte(`{"role":"admin"}`), Live())
	for n := 0; n < len(v); n++ {
		MustNotOpen(t, s, v[:n])
		MustNotOpen(t, s, v[n+1:])
	}
}

func testGarbage(t *testing.T, s session.CookieStore, _ bool) {
	for _, v := range append(HostileKeys(), "", "=", "....", strings.Repeat("A", 5000), Key()) {
		MustNotOpen(t, s, v)
	}
}

func testCookieExpiry(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	// Seconds granularity is allowed: the expiry is at least 1 s away
	// from the moment it is checked, on both sides.
	exp := time.Now().Add(1100 * time.Millisecond).Truncate(time.Second)
	if time.Until(exp) < 200*time.Millisecond {
		exp = exp.Add(time.Second)
	}
	v := MustSeal(t, s, k, []byte("x"), exp)
	MustOpen(t, s, v, k, []byte("x"))
	time.Sleep(time.Until(exp) + 10*time.Millisecond)
	MustNotOpen(t, s, v)
}

func testCookiePastExpiry(t *testing.T, s session.CookieStore, _ bool) {
	v, err := s.Seal(context.Background(), Key(), []byte("x"), time.Now().Add(-time.Hour))
	if err == nil {
		MustNotOpen(t, s, v)
	}
}

func testTooLarge(t *testing.T, s session.CookieStore, _ bool) {
	_, err := s.Seal(context.Background(), Key(), bytes.Repeat([]byte("x"), 5000), Live())
	if !errors.Is(err, session.ErrCookieTooLarge) {
		t.Fatalf("Seal of 5000 bytes: %v, want ErrCookieTooLarge", err)
	}
	// A session of 1 KiB fits.
	MustSeal(t, s, Key(), bytes.Repeat([]byte("x"), 1024), Live())
}

func testRevoke(t *testing.T, s session.CookieStore, revokes bool) {
	k, other := Key(), Key()
	v1 := MustSeal(t, s, k, []byte("first"), Live())
	v2 := MustSeal(t, s, k, []byte("second"), Live())
	w := MustSeal(t, s, other, []byte("other"), Live())
	if err := s.Revoke(context.Background(), k); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	MustOpen(t, s, w, other, []byte("other")) // other sessions unaffected
	if !revokes {
		MustOpen(t, s, v1, k, []byte("first"))
		return
	}
	MustNotOpen(t, s, v1)
	MustNotOpen(t, s, v2)
	// A request that loaded the session before the logout must not bring
	// it back.
	if _, err := s.Seal(context.Background(), k, []byte("late"), Live()); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("Seal after Revoke: %v, want ErrRevoked", err)
	}
	MustNotOpen(t, s, v2)
}

func testRevokeUnknown(t *testing.T, s session.CookieStore, _ bool) {
	if err := s.Revoke(context.Background(), Key()); err != nil {
		t.Fatalf("Revoke(unknown): %v", err)
	}
}

func testCookieCancelled(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	v := MustSeal(t, s, k, []byte("x"), Live())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Seal(ctx, k, []byte("y"), Live()); !errors.Is(err, context.Canceled) {
		t.Errorf("Seal with cancelled ctx: %v, want context.Canceled", err)
	}
	if _, _, found, err := s.Open(ctx, v); !errors.Is(err, context.Canceled) || found {
		t.Errorf("Open with cancelled ctx: found %v, %v; want context.Canceled", found, err)
	}
	if err := s.Revoke(ctx, k); !errors.Is(err, context.Canceled) {
		t.Errorf("Revoke with cancelled ctx: %v, want context.Canceled", err)
	}
	MustOpen(t, s, v, k, []byte("x"))
}

func testSealCopies(t *testing.T, s session.CookieStore, _ bool) {
	k := Key()
	data := []byte("original")
	v := MustSeal(t, s, k, data, Live())
	copy(data, "mutated!")
	MustOpen(t, s, v, k, []byte("original"))
	_, d, _, _ := s.Open(context.Background(), v)
	copy(d, "mutated!")
	MustOpen(t, s, v, k, []byte("original"))
}

func testCookieConcurrent(t *testing.T, s session.CookieStore, _ bool) {
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				k := Key()
				v, err := s.Seal(context.Background(), k, []byte(k), Live())
				if err != nil {
					errs <- err.Error()
					return
				}
				gk, d, found, err := s.Open(context.Background(), v)
				if err != nil || !found || gk != k || string(d) != k {
					errs <- "concurrent round trip failed"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
