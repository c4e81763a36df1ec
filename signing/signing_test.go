package signing_test

import (
	"bytes"
	"compress/zlib"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/signing"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef")
	oldKey  = []byte("old-key-old-key-old-key-old-key!")
)

// errAny marks a table row that must fail without a sentinel to match.
var errAny = errors.New("any error")

func mustSigner(t testing.TB, c signing.Config) *signing.Signer {
	t.Helper()
	s, err := signing.NewSigner(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		c    signing.Config
		want error
	}{
		{"ok", signing.Config{Key: testKey}, nil},
		{"no key", signing.Config{}, signing.ErrNoKey},
		{"empty fallback", signing.Config{Key: testKey, FallbackKeys: [][]byte{{}}}, errAny},
		{"sha1 cannot sign", signing.Config{Key: testKey, Algorithm: signing.InsecureSHA1}, signing.ErrInvalidAlgorithm},
		{"unknown algorithm", signing.Config{Key: testKey, Algorithm: "md5"}, signing.ErrInvalidAlgorithm},
		{"sep dash", signing.Config{Key: testKey, Sep: "-"}, signing.ErrUnsafeSeparator},
		{"sep caret (A-z quirk)", signing.Config{Key: testKey, Sep: "^"}, signing.ErrUnsafeSeparator},
		{"sep backslash (A-z quirk)", signing.Config{Key: testKey, Sep: `\`}, signing.ErrUnsafeSeparator},
		{"sep letters", signing.Config{Key: testKey, Sep: "abc"}, signing.ErrUnsafeSeparator},
		{"sep tilde", signing.Config{Key: testKey, Sep: "~"}, nil},
		{"sep mixed", signing.Config{Key: testKey, Sep: "a:b"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Validate()
			if err != nil && (!errors.Is(err, signing.ErrConfig) || strings.Count(err.Error(), "signing:") != 1) {
				t.Errorf("Validate() = %q: want an ErrConfig naming the package once", err)
			}
			if tt.want == errAny {
				if err == nil {
					t.Fatal("Validate() = nil, want an error")
				}
				return
			}
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUnsignRefusesTampering(t *testing.T) {
	s := mustSigner(t, signing.Config{Key: testKey})
	good := s.Sign("user=42")
	other := mustSigner(t, signing.Config{Key: testKey, Salt: "other-purpose"})
	sig := good[strings.LastIndex(good, ":")+1:]
	tests := []struct{ name, in string }{
		{"uppercased", strings.ToUpper(good)},
		{"appended", good + "a"},
		{"first char replaced", "U" + good[1:]},
		{"colons removed", strings.ReplaceAll(good, ":", "")},
		{"truncated signature", good[:len(good)-1]},
		{"value changed", "user=43:" + sig},
		{"signature with newline", good[:len(good)-2] + "\n" + good[len(good)-2:]},
		{"padded signature", good + "="},
		{"other salt", other.Sign("user=42")},
		{"empty", ""},
		{"only sep", ":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Unsign(tt.in)
			if !errors.Is(err, signing.ErrBadSignature) || v != "" {
				t.Fatalf("Unsign(%q) = %q, %v; want ErrBadSignature", tt.in, v, err)
			}
		})
	}
	if v, err := s.Unsign(good); err != nil || v != "user=42" {
		t.Fatalf("Unsign(good) = %q, %v", v, err)
	}
}

func TestKeyRotation(t *testing.T) {
	old := mustSigner(t, signing.Config{Key: oldKey})
	rotated := mustSigner(t, signing.Config{Key: testKey, FallbackKeys: [][]byte{oldKey}})
	signedOld := old.Sign("v")
	if v, err := rotated.Unsign(signedOld); err != nil || v != "v" {
		t.Fatalf("fallback key does not verify: %q, %v", v, err)
	}
	// Fallbacks never sign: the new signature is the primary key's.
	if rotated.Sign("v") == signedOld {
		t.Fatal("rotated signer signed with the fallback key")
	}
	if rotated.Sign("v") != mustSigner(t, signing.Config{Key: testKey}).Sign("v") {
		t.Fatal("rotated signer does not sign with the primary key")
	}
	// After the fallback is removed, old values are refused.
	if _, err := mustSigner(t, signing.Config{Key: testKey}).Unsign(signedOld); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("removed key still verifies: %v", err)
	}
}

func TestLegacySHA1(t *testing.T) {
	// A Django < 3.1 value: HMAC-SHA1 with the Signer's derivation.
	mac, _ := signing.SaltedHMAC(signing.InsecureSHA1, signing.DefaultSignerSalt+"signer", []byte("v"), testKey)
	legacy := "v:" + b64(mac)
	if _, err := mustSigner(t, signing.Config{Key: testKey}).Unsign(legacy); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("SHA-1 signature accepted by default: %v", err)
	}
	s := mustSigner(t, signing.Config{Key: testKey, AllowInsecureSHA1Verify: true})
	if v, err := s.Unsign(legacy); err != nil || v != "v" {
		t.Fatalf("legacy SHA-1 not verified when allowed: %q, %v", v, err)
	}
	if s.Sign("v") == legacy {
		t.Fatal("signed with SHA-1")
	}
}

func TestTimestampExpiryAndFuture(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	ts, err := signing.NewTimestampSigner(signing.TimestampConfig{Config: signing.Config{Key: testKey}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	signed := ts.Sign("v")
	tests := []struct {
		name   string
		at     time.Duration // clock offset when unsigning
		maxAge time.Duration
		want   error
	}{
		{"fresh", 0, time.Minute, nil},
		{"age equals max", time.Minute, time.Minute, nil},
		{"age above max", time.Minute + time.Second, time.Minute, signing.ErrSignatureExpired},
		{"no max age", 1000 * time.Hour, 0, nil},
		{"negative max age", 0, -time.Second, signing.ErrSignatureExpired},
		{"within skew", -59 * time.Second, time.Minute, nil},
		{"from the future", -2 * time.Minute, time.Minute, signing.ErrFutureTimestamp},
		{"from the future without max age", -2 * time.Minute, 0, signing.ErrFutureTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = time.Unix(1_700_000_000, 0).Add(tt.at)
			defer func() { now = time.Unix(1_700_000_000, 0) }()
			_, err := ts.Unsign(signed, tt.maxAge)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !errors.Is(err, signing.ErrBadSignature) {
				t.Fatalf("%v does not wrap ErrBadSignature", err)
			}
		})
	}
}

func TestMarshalJSONMatchesPython(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{"b": 1, "a": []any{"x", true, nil}}, `{"a":["x",true,null],"b":1}`},
		{"a string \u2019", `"a string \u2019"`},
		{"<script>&", `"<script>&"`},
		{"\x7f\x01\n\t\"\\", `"\u007f\u0001\n\t\"\\"`},
		{"\U0001F600", `"\ud83d\ude00"`},
		{"\u2028", `"\u2028"`},
		{"é", `"\u00e9"`},
	}
	for _, tt := range tests {
		got, err := signing.MarshalJSON(tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("MarshalJSON(%#v) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestDumpsLoadsRoundTrip(t *testing.T) {
	ts, _ := signing.NewTimestampSigner(signing.TimestampConfig{Config: signing.Config{Key: testKey, Salt: signing.DefaultDumpsSalt}})
	in := map[string]any{"user": "émile", "list": strings.Repeat("abc", 100)}
	for _, compress := range []bool{false, true} {
		s, err := ts.Dumps(in, compress)
		if err != nil {
			t.Fatal(err)
		}
		if compress != strings.HasPrefix(s, ".") {
			t.Fatalf("compress=%v gave %q", compress, s[:10])
		}
		var out map[string]any
		if err := ts.Loads(s, time.Hour, &out); err != nil || out["user"] != "émile" {
			t.Fatalf("Loads = %v, %v", out, err)
		}
	}
}

// TestDecompressionCap: a signed zip bomb (the key holder can produce one)
// is refused without inflating more than the cap.
func TestDecompressionCap(t *testing.T) {
	ts, _ := signing.NewTimestampSigner(signing.TimestampConfig{Config: signing.Config{Key: testKey}})
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(`"`))
	zw.Write(make([]byte, 16<<20)) // 16 MiB of zeros, ~16 KiB compressed
	zw.Close()
	bomb := ts.Sign("." + b64(b.Bytes()))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ts.LoadsJSON(bomb, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, signing.ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	// The cap is 1 MiB; allow the base64 decode of the input and zlib's
	// window on top of it.
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Fatalf("allocated %d bytes inflating a bomb, want < 4 MiB", got)
	}
}

func TestBase62(t *testing.T) {
	for i := int64(-100); i < 100; i++ {
		if got, err := signing.B62Decode(signing.B62Encode(i)); err != nil || got != i {
			t.Fatalf("round trip of %d: %d, %v", i, got, err)
		}
	}
	for _, bad := range []string{"", "-", "+1", "1 ", "zzzzzzzzzzzz", "AzL8n0Y58m8", "ab$"} {
		if _, err := signing.B62Decode(bad); err == nil {
			t.Errorf("B62Decode(%q) accepted", bad)
		}
	}
	if got, _ := signing.B62Decode("AzL8n0Y58m7"); got != 1<<63-1 {
		t.Errorf("max int64: %d", got)
	}
}

// TestSignObject: Signer.SignObject and UnsignObject are Django's
// sign_object and unsign_object (no timestamp), with Django's known
// answers, and refuse tampered, re-salted or timestamped values.
func TestSignObject(t *testing.T) {
	s := mustSigner(t, signing.Config{Key: []byte("predictable-secret")})
	messages := mustSigner(t, signing.Config{Key: []byte("predictable-secret"), Salt: "messages"})
	list19 := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}

	// Known answers computed as Django computes them.
	for _, tc := range []struct {
		name     string
		s        *signing.Signer
		v        any
		compress bool
		want     string
	}{
		{"list", s, []string{"a", "list"}, false, "WyJhIiwibGlzdCJd:3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEs"},
		{"compression that does not pay is skipped", s, map[string]string{"a": "dictionary"}, true, "eyJhIjoiZGljdGlvbmFyeSJ9:ZV1C319hpsno9ICUvtridke2fptPX6PfNmJMZWdIETk"},
		{"non-ASCII escaped, custom salt", messages, "a string \u2019", false, "ImEgc3RyaW5nIFx1MjAxOSI:YoI7dQotf5nsV2Bb5m_j3m025mQBCpbMqPcMedqgdL8"},
	} {
		got, err := tc.s.SignObject(tc.v, tc.compress)
		if err != nil || got != tc.want {
			t.Errorf("%s: SignObject = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}

	// Django's compressed value loads (zlib output differs between
	// implementations, so only decoding is compared), and ours round-trips.
	const djangoCompressed = ".eJwFwcERACAIwLCF-rCiILN47r-GyZVJsNgkxaFxoDgxcOHGxMKD_T7vhAml:jyDM4NFemW5JmPet-3cLjnum6meFmnY9-WilxuWfmxI"
	var got []int
	if err := s.UnsignObject(djangoCompressed, &got); err != nil || len(got) != len(list19) || got[18] != 19 {
		t.Errorf("UnsignObject(Django's value) = %v, %v", got, err)
	}
	long := strings.Repeat("compressible ", 50)
	ours, err := s.SignObject(long, true)
	if err != nil || !strings.HasPrefix(ours, ".") {
		t.Fatalf("SignObject(compress) = %q, %v; want a compressed value", ours, err)
	}
	var back string
	if err := s.UnsignObject(ours, &back); err != nil || back != long {
		t.Errorf("UnsignObject(ours) = %q, %v", back, err)
	}

	dumps, _ := signing.NewTimestampSigner(signing.TimestampConfig{Config: signing.Config{Key: []byte("predictable-secret"), Salt: signing.DefaultSignerSalt}})
	timestamped, _ := dumps.Dumps([]string{"a", "list"}, false)
	for _, tc := range []struct{ name, in string }{
		{"upper-cased", strings.ToUpper("WyJhIiwibGlzdCJd:3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEs")},
		{"appended", "WyJhIiwibGlzdCJd:3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEsa"},
		{"payload swapped", "eyJhIjoiZGljdGlvbmFyeSJ9:3GYcIQFaIPFWdliFMF3d9fjJn7eGSl_wbCyUmm1HeEs"},
		{"other salt", "ImEgc3RyaW5nIFx1MjAxOSI:YoI7dQotf5nsV2Bb5m_j3m025mQBCpbMqPcMedqgdL8"},
		{"compression marker removed", djangoCompressed[1:]},
		{"no separator", "WyJhIiwibGlzdCJd"},
		{"timestamped value with the same salt", timestamped},
	} {
		var v any
		err := s.UnsignObject(tc.in, &v)
		if !errors.Is(err, signing.ErrBadSignature) && tc.name != "timestamped value with the same salt" {
			t.Errorf("%s: UnsignObject = %v, %v; want ErrBadSignature", tc.name, v, err)
		}
		if err == nil {
			t.Errorf("%s: UnsignObject accepted %q", tc.name, tc.in)
		}
	}
}

// TestCookieSignerKnownAnswers: cookie values as Django's
// set_signed_cookie makes them (computed with Django's algorithm), including
// non-ASCII names and salts, whose length prefix counts characters.
func TestCookieSignerKnownAnswers(t *testing.T) {
	cs, err := signing.NewCookieSigner(signing.CookieConfig{
		Key: []byte("django_tests_secret_key"),
		Now: func() time.Time { return time.Unix(123456789, 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, salt, want string }{
		{"c", "", "hello:8M0kX:RaHDaxb11P3WiSkbx4t75Z893am_468gu9CNXi9nJrY"},
		{"c", "sél", "hello:8M0kX:mMwjkfzq_bj55Lwpmf2BGbX-oTmaObhNxG8vnbiL7_A"},
		{"naïve", "", "hello:8M0kX:TyWxpDQWFTBVytBl0Tn-Ia9Rv-ySe-gbRUBlua2EFFg"},
	} {
		if got := cs.Sign(tc.name, "hello", tc.salt); got != tc.want {
			t.Errorf("Sign(%q, salt %q) = %q, want %q", tc.name, tc.salt, got, tc.want)
		}
		if got, err := cs.Unsign(tc.name, tc.want, tc.salt, 0); err != nil || got != "hello" {
			t.Errorf("Unsign(%q, salt %q) = %q, %v", tc.name, tc.salt, got, err)
		}
		// The same value under another cookie name or salt is refused.
		if _, err := cs.Unsign(tc.name+"x", tc.want, tc.salt, 0); !errors.Is(err, signing.ErrBadSignature) {
			t.Errorf("Unsign under another name: %v, want ErrBadSignature", err)
		}
	}
}
