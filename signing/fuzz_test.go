package signing_test

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/signing"
)

// signedSeeds collects every signed string of signing.json, so the fuzzers
// start from values Django produced.
func signedSeeds(t testing.TB) []string {
	var file struct {
		Sections []struct {
			Vectors []map[string]any `json:"vectors"`
		} `json:"sections"`
	}
	vectors.Load(t, "signing.json", &file)
	var out []string
	for _, s := range file.Sections {
		for _, v := range s.Vectors {
			for _, k := range []string{"expected_signed", "signed", "unsign_input", "expected_dumps", "expected_dumps_python_zlib", "loads_input", "cookie_value", "expected_cookie_value"} {
				if s, ok := v[k].(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if n := len(signedSeeds(t)); n < 20 {
		t.Fatalf("only %d fuzz seeds from signing.json", n)
	}
}

// FuzzUnsign: Unsign never returns a value for an input that is not
// exactly what a signer holding one of the keys would produce for that
// value (no malleability: no second spelling of a valid signature).
func FuzzUnsign(f *testing.F) {
	for _, s := range signedSeeds(f) {
		f.Add(s)
	}
	primary := signing.Config{Key: []byte("predictable-secret")}
	fallback := signing.Config{Key: []byte("predictable-secret2")}
	s, _ := signing.NewSigner(signing.Config{Key: primary.Key, FallbackKeys: [][]byte{fallback.Key}})
	p, _ := signing.NewSigner(primary)
	fb, _ := signing.NewSigner(fallback)
	f.Add(p.Sign("hello"))
	f.Add(fb.Sign("hello"))
	f.Fuzz(func(t *testing.T, in string) {
		v, err := s.Unsign(in)
		if err != nil {
			if v != "" || !errors.Is(err, signing.ErrBadSignature) {
				t.Fatalf("Unsign(%q) = %q, %v", in, v, err)
			}
			return
		}
		if in != p.Sign(v) && in != fb.Sign(v) {
			t.Fatalf("Unsign accepted %q, which no key signs", in)
		}
	})
}

// FuzzLoads: Loads never returns data for a value not signed with the
// key, and never inflates more than the cap, whatever the payload.
func FuzzLoads(f *testing.F) {
	for _, s := range signedSeeds(f) {
		f.Add(s, []byte(nil))
	}
	f.Add("", []byte("x\x9c\x01\x00\x00\xff\xff\x00\x00\x00\x01"))
	const maxSize = 4096
	now := func() time.Time { return time.Unix(123456800, 0) }
	ts, _ := signing.NewTimestampSigner(signing.TimestampConfig{
		Config:              signing.Config{Key: []byte("predictable-secret"), Salt: signing.DefaultDumpsSalt},
		Now:                 now,
		MaxDecompressedSize: maxSize,
	})
	f.Fuzz(func(t *testing.T, in string, payload []byte) {
		// 1. An arbitrary string: only an exact signature is accepted.
		if data, err := ts.LoadsJSON(in, 0); err == nil {
			if !sameTimestampSigner(ts, in) {
				t.Fatalf("LoadsJSON accepted forged %q", in)
			}
			if len(data) > maxSize {
				t.Fatalf("inflated %d bytes > cap %d", len(data), maxSize)
			}
		}
		// 2. A signed arbitrary compressed payload (what a key holder could
		// produce): the cap holds and errors are clean.
		signed := ts.Sign("." + b64(payload))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		data, err := ts.LoadsJSON(signed, 0)
		runtime.ReadMemStats(&after)
		if err == nil && len(data) > maxSize {
			t.Fatalf("inflated %d bytes > cap %d", len(data), maxSize)
		}
		// The output buffer never exceeds the cap; on top of it: the
		// base64 decode of the input and zlib's window and tables.
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(maxSize+1+2*len(signed)+96<<10); got > limit {
			t.Fatalf("LoadsJSON allocated %d bytes, limit %d", got, limit)
		}
		if err != nil && data != nil {
			t.Fatal("data returned with an error")
		}
		var v any
		if err := ts.Loads(signed, 0, &v); err == nil {
			if _, err := json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// sameTimestampSigner re-signs the value of in at its own timestamp: the
// seeds were signed at various times, and the signature must still be the
// exact one our key produces.
func sameTimestampSigner(ts *signing.TimestampSigner, in string) bool {
	i := strings.LastIndex(in, ":")
	j := strings.LastIndex(in[:i], ":")
	sec, err := signing.B62Decode(in[j+1 : i])
	if err != nil {
		return false
	}
	at, _ := signing.NewTimestampSigner(signing.TimestampConfig{
		Config: signing.Config{Key: []byte("predictable-secret"), Salt: signing.DefaultDumpsSalt},
		Now:    func() time.Time { return time.Unix(sec, 0) },
	})
	return at.Sign(in[:j]) == in
}

// FuzzUnsignObject: UnsignObject decodes nothing that the key did not
// sign, and a key holder's arbitrary compressed payload inflates to at
// most DefaultMaxDecompressedSize bytes.
func FuzzUnsignObject(f *testing.F) {
	s, _ := signing.NewSigner(signing.Config{Key: []byte("predictable-secret")})
	for _, v := range []any{[]string{"a", "list"}, map[string]any{"a": 1}, strings.Repeat("x", 100)} {
		for _, c := range []bool{false, true} {
			signed, _ := s.SignObject(v, c)
			f.Add(signed, []byte(nil))
		}
	}
	f.Add("", []byte("x\x9c\x01\x00\x00\xff\xff\x00\x00\x00\x01"))
	f.Fuzz(func(t *testing.T, in string, payload []byte) {
		var v any
		if err := s.UnsignObject(in, &v); err == nil {
			i := strings.LastIndex(in, ":")
			if s.Sign(in[:i]) != in {
				t.Fatalf("UnsignObject accepted forged %q", in)
			}
		}
		var raw json.RawMessage
		err := s.UnsignObject(s.Sign("."+b64(payload)), &raw)
		if err == nil && len(raw) > signing.DefaultMaxDecompressedSize {
			t.Fatalf("inflated %d bytes", len(raw))
		}
	})
}
