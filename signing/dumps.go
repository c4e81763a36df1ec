package signing

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// DefaultDumpsSalt is the salt django.core.signing.dumps uses by default.
// Build the TimestampSigner with this Salt to exchange values with
// Django's dumps/loads.
const DefaultDumpsSalt = "django.core.signing"

// Dumps is Django's signing.dumps: v as JSON (Python's compact separators,
// non-ASCII escaped as \uXXXX), optionally zlib-compressed when that saves
// more than one byte (then prefixed with '.'), base64url without padding,
// then signed with a timestamp. Values of JSON-compatible types round-trip
// with Django byte for byte; float formatting may differ (Go writes 1 where
// Python writes 1.0).
func (t *TimestampSigner) Dumps(v any, compress bool) (string, error) {
	data, err := MarshalJSON(v)
	if err != nil {
		return "", err
	}
	return t.DumpsJSON(data, compress), nil
}

// DumpsJSON is Dumps for an already encoded JSON document, used as is.
func (t *TimestampSigner) DumpsJSON(data []byte, compress bool) string {
	return t.Sign(encodePayload(data, compress))
}

// encodePayload is the payload of Django's sign_object: data, zlib-
// compressed when that saves more than one byte (then prefixed with '.'),
// in base64url without padding.
func encodePayload(data []byte, compress bool) string {
	dot := false
	if compress {
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		zw.Write(data)
		zw.Close()
		if b.Len() < len(data)-1 {
			data, dot = b.Bytes(), true
		}
	}
	n := base64.RawURLEncoding.EncodedLen(len(data))
	out := make([]byte, 0, n+1)
	if dot {
		out = append(out, '.')
	}
	out = base64.RawURLEncoding.AppendEncode(out, data)
	return string(out)
}

// decodePayload reverses encodePayload on a verified payload, inflating at
// most max bytes.
func decodePayload(payload string, max int) ([]byte, error) {
	compressed := len(payload) > 0 && payload[0] == '.'
	if compressed {
		payload = payload[1:]
	}
	data, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("signing: signed payload is not base64: %w", err)
	}
	if !compressed {
		return data, nil
	}
	return inflate(data, max)
}

// SignObject is Django's Signer.sign_object: v encoded as Dumps encodes it
// (JSON, optionally compressed, base64url), signed without a timestamp.
// Django's messages cookie storage uses it. Values that must expire belong
// in a TimestampSigner's Dumps.
func (s *Signer) SignObject(v any, compress bool) (string, error) {
	data, err := MarshalJSON(v)
	if err != nil {
		return "", err
	}
	return s.Sign(encodePayload(data, compress)), nil
}

// UnsignObject is Django's Signer.unsign_object: it verifies signed,
// inflates the payload if compressed (only after the signature check, and
// at most DefaultMaxDecompressedSize bytes) and decodes the JSON into v.
func (s *Signer) UnsignObject(signed string, v any) error {
	payload, err := s.Unsign(signed)
	if err != nil {
		return err
	}
	data, err := decodePayload(payload, DefaultMaxDecompressedSize)
	if err != nil {
		return err
	}
	return unmarshalPayload(data, v)
}

// Loads is Django's signing.loads: it verifies signed (with maxAge as in
// Unsign), inflates it if compressed, and decodes the JSON into v.
// Decompression happens only after the signature is verified, and is
// capped at MaxDecompressedSize.
func (t *TimestampSigner) Loads(signed string, maxAge time.Duration, v any) error {
	data, err := t.LoadsJSON(signed, maxAge)
	if err != nil {
		return err
	}
	return unmarshalPayload(data, v)
}

func unmarshalPayload(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("signing: signed payload is not valid JSON: %w", err)
	}
	return nil
}

// LoadsJSON is Loads returning the JSON document undecoded.
func (t *TimestampSigner) LoadsJSON(signed string, maxAge time.Duration) ([]byte, error) {
	payload, err := t.Unsign(signed, maxAge)
	if err != nil {
		return nil, err
	}
	return decodePayload(payload, t.maxSize)
}

// inflate decompresses zlib data, failing with ErrTooLarge as soon as the
// output would exceed max bytes: it never holds more than max+1 bytes.
func inflate(data []byte, max int) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("signing: bad compressed payload: %w", err)
	}
	defer zr.Close()
	buf := make([]byte, 0, min(max+1, 4*len(data)+64))
	for {
		if len(buf) == cap(buf) {
			if len(buf) > max {
				return nil, ErrTooLarge
			}
			nc := min(2*cap(buf), max+1)
			nb := make([]byte, len(buf), nc)
			copy(nb, buf)
			buf = nb
		}
		n, err := zr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return nil, ErrTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("signing: bad compressed payload: %w", err)
		}
	}
}

// MarshalJSON encodes v as Python's json.dumps(v, separators=(",", ":"))
// does with its default ensure_ascii: no spaces, no HTML escaping, and
// every character outside printable ASCII escaped as \uXXXX (surrogate
// pairs above U+FFFF, DEL included). Map keys are sorted (Go's rule);
// struct fields keep their declaration order.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return asciiJSON(bytes.TrimSuffix(b.Bytes(), []byte{'\n'})), nil
}

// asciiJSON rewrites raw non-ASCII runes and DEL, which in encoding/json
// output only occur inside strings, as \u escapes. Go already escapes
// control characters, U+2028 and U+2029 the way Python does.
func asciiJSON(in []byte) []byte {
	clean := true
	for _, c := range in {
		if c >= 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return in
	}
	const hex = "0123456789abcdef"
	out := make([]byte, 0, len(in)+len(in)/2)
	u := func(r rune) {
		out = append(out, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	for i := 0; i < len(in); {
		c := in[i]
		if c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		if c == 0x7f {
			u(0x7f)
			i++
			continue
		}
		r, size := utf8.DecodeRune(in[i:])
		i += size
		if r > 0xffff {
			r -= 0x10000
			u(0xd800 + r>>10)
			u(0xdc00 + r&0x3ff)
			continue
		}
		u(r)
	}
	return out
}
