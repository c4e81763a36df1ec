package signing_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/signing"
)

// vec is one vector, read generically: every field the file may carry.
type vec map[string]json.RawMessage

func (v vec) has(k string) bool { _, ok := v[k]; return ok && string(v[k]) != "null" }

func (v vec) str(k string) string {
	var s string
	if err := json.Unmarshal(v[k], &s); err != nil {
		return ""
	}
	return s
}

func (v vec) obj(k string) vec {
	var o vec
	json.Unmarshal(v[k], &o)
	return o
}

// key decodes a key given as a string or {"hex": "..."}; null is nil.
func key(raw json.RawMessage) []byte {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s)
	}
	var h struct{ Hex string }
	json.Unmarshal(raw, &h)
	b, _ := hex.DecodeString(h.Hex)
	return b
}

func keys(raw json.RawMessage) ([][]byte, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	var list []json.RawMessage
	json.Unmarshal(raw, &list)
	out := [][]byte{}
	for _, k := range list {
		out = append(out, key(k))
	}
	return out, true
}

// duration reads a max_age given as seconds (int or float) or
// {"timedelta_seconds": N}; null or absent is no age check (0). Django's
// max_age=0 is a real limit (any age above zero is expired) where our zero
// means "no limit", so an explicit 0 maps to the smallest positive limit,
// which refuses exactly what Django refuses: timestamps have whole-second
// resolution, so an age is either 0 or at least a second.
func duration(raw json.RawMessage) time.Duration {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		var td struct {
			TimedeltaSeconds float64 `json:"timedelta_seconds"`
		}
		json.Unmarshal(raw, &td)
		f = td.TimedeltaSeconds
	}
	if f == 0 {
		return time.Nanosecond
	}
	return time.Duration(f * float64(time.Second))
}

func clock(v vec) func() time.Time {
	var now float64
	if v.has("now") {
		json.Unmarshal(v["now"], &now)
	}
	sec := int64(now)
	t := time.Unix(sec, int64((now-float64(sec))*1e9))
	return func() time.Time { return t }
}

// expectErr maps Django's exception names onto our sentinels.
func expectErr(name string, err error) error {
	if err == nil {
		return fmt.Errorf("no error, want %s", name)
	}
	switch {
	case strings.HasPrefix(name, "SignatureExpired"):
		if !errors.Is(err, signing.ErrSignatureExpired) {
			return fmt.Errorf("error %v, want SignatureExpired", err)
		}
	case strings.HasPrefix(name, "BadSignature"):
		if !errors.Is(err, signing.ErrBadSignature) || errors.Is(err, signing.ErrSignatureExpired) {
			return fmt.Errorf("error %v, want BadSignature", err)
		}
	case strings.HasPrefix(name, "InvalidAlgorithm"):
		if !errors.Is(err, signing.ErrInvalidAlgorithm) {
			return fmt.Errorf("error %v, want InvalidAlgorithm", err)
		}
	case strings.HasPrefix(name, "ValueError") && strings.Contains(name, "separator"), name == "ValueError":
		if !errors.Is(err, signing.ErrUnsafeSeparator) {
			return fmt.Errorf("error %v, want ValueError (unsafe separator)", err)
		}
	default:
		return fmt.Errorf("vector expects unknown error %q", name)
	}
	return nil
}

// isErrName tells an expected error name from an expected value.
func isErrName(s string) bool {
	return s == "BadSignature" || s == "SignatureExpired"
}

// settings holds SECRET_KEY, SECRET_KEY_FALLBACKS and
// SIGNED_COOKIE_LEGACY_SALT_FALLBACK, as a vector gives them.
type settings struct {
	key       []byte
	fallbacks [][]byte
	legacy    bool
}

func readSettings(v vec) settings {
	s := v.obj("settings")
	out := settings{key: key(s["SECRET_KEY"])}
	out.fallbacks, _ = keys(s["SECRET_KEY_FALLBACKS"])
	json.Unmarshal(s["SIGNED_COOKIE_LEGACY_SALT_FALLBACK"], &out.legacy)
	return out
}

// signerConfig builds a Signer config from a vector's "signer" (or
// "verifier") object, with Django's defaulting from settings: key None
// means SECRET_KEY, fallback_keys None means SECRET_KEY_FALLBACKS.
func signerConfig(v vec, field string) signing.Config {
	st := readSettings(v)
	o := v.obj(field)
	c := signing.Config{
		Key:       key(o["key"]),
		Salt:      o.str("salt"),
		Sep:       o.str("sep"),
		Algorithm: signing.Algorithm(o.str("algorithm")),
	}
	if c.Key == nil {
		c.Key = st.key
	}
	if c.Key == nil {
		c.Key = []byte("django_tests_secret_key")
	}
	if fb, ok := keys(o["fallback_keys"]); ok {
		c.FallbackKeys = fb
	} else {
		c.FallbackKeys = st.fallbacks
	}
	return c
}

func TestDjangoSigning(t *testing.T) {
	vectors.Run(t, "signing.json", func(section string, raw map[string]json.RawMessage) func() error {
		v := vec(raw)
		if check := vectorCheck(section, v); check != nil {
			return check
		}
		if docOnly(v) {
			return nil // documentation-only entry (a property covered by unit tests)
		}
		// Data this harness cannot map: refuse it loudly rather than let it
		// pass unread.
		return func() error { return fmt.Errorf("harness cannot interpret vector fields %v", fields(v)) }
	})
}

// docOnly reports whether a vector only documents a property (a test name
// and a note), with no data to replay.
func docOnly(v vec) bool {
	for k := range v {
		if k != "test" && k != "note" {
			return false
		}
	}
	return true
}

func fields(v vec) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// vectorCheck returns the check for one vector, or nil when the vector
// carries no data to replay.
func vectorCheck(section string, v vec) func() error {
	switch {
	case v.has("int") && v.has("b62"):
		return func() error { return checkBase62(v) }
	case v.has("key_salt"):
		return func() error { return checkSaltedHMAC(v) }
	case v.has("cookie_name"):
		return func() error { return checkSignedCookie(v) }
	case v.has("session_dict"):
		return func() error { return checkSessionEncoding(v) }
	case v.has("obj") && v.has("signer"):
		return func() error { return checkSignObject(v) }
	case v.has("obj") || v.has("loads_input"):
		return func() error { return checkDumps(v) }
	case section == "timestamp_signer" || v.has("now") && v.has("signer"):
		return func() error { return checkTimestamp(v) }
	case v.has("signer") || v.has("verifier") || v.has("settings") && v.has("value"):
		return func() error { return checkSigner(v) }
	}
	return nil
}

func checkBase62(v vec) error {
	var n int64
	json.Unmarshal(v["int"], &n)
	want := v.str("b62")
	if got := signing.B62Encode(n); got != want {
		return fmt.Errorf("B62Encode(%d) = %q, want %q", n, got, want)
	}
	got, err := signing.B62Decode(want)
	if err != nil || got != n {
		return fmt.Errorf("B62Decode(%q) = %d, %v; want %d", want, got, err, n)
	}
	return nil
}

func checkSaltedHMAC(v vec) error {
	// value and secret are strings or {"hex": ...} (Python bytes).
	mac, err := signing.SaltedHMAC(signing.Algorithm(v.str("algorithm")), v.str("key_salt"), key(v["value"]), key(v["secret"]))
	if err != nil {
		return err
	}
	checked := false
	if want := v.str("expected_hexdigest"); want != "" {
		checked = true
		if hex.EncodeToString(mac) != want {
			return fmt.Errorf("hex %x, want %s", mac, want)
		}
	}
	if want := v.str("expected_base64url_nopad"); want != "" {
		checked = true
		if got := base64.RawURLEncoding.EncodeToString(mac); got != want {
			return fmt.Errorf("base64 %s, want %s", got, want)
		}
	}
	if !checked {
		return errors.New("vector has no expected digest")
	}
	return nil
}

func checkSigner(v vec) error {
	field := "signer"
	if v.has("verifier") {
		field = "verifier"
	}
	cfg := signerConfig(v, field)
	s, err := signing.NewSigner(cfg)
	if v.has("expected_error") && !v.has("signed") && !v.has("unsign_input") {
		return expectErr(v.str("expected_error"), err)
	}
	if err != nil {
		if _, declared := v["expected_error"]; declared && !v.has("expected_error") {
			return fmt.Errorf("NewSigner: %v, want no error", err)
		}
		return fmt.Errorf("NewSigner: %v", err)
	}
	value := v.str("value")
	if v.has("value_as_signed") {
		value = v.str("value_as_signed")
	}
	if v.has("expected_signature") && s.Signature(value) != v.str("expected_signature") {
		return fmt.Errorf("Signature(%q) = %q, want %q", value, s.Signature(value), v.str("expected_signature"))
	}
	if v.has("expected_signed") {
		if got := s.Sign(value); got != v.str("expected_signed") {
			return fmt.Errorf("Sign(%q) = %q, want %q", value, got, v.str("expected_signed"))
		}
		if got, err := s.Unsign(v.str("expected_signed")); err != nil || got != value {
			return fmt.Errorf("Unsign = %q, %v; want %q", got, err, value)
		}
	}
	in := v.str("signed")
	if v.has("unsign_input") {
		in = v.str("unsign_input")
	}
	if in != "" {
		got, err := s.Unsign(in)
		if v.has("expected_error") {
			return expectErr(v.str("expected_error"), err)
		}
		if err != nil || got != v.str("expected_unsign") {
			return fmt.Errorf("Unsign(%q) = %q, %v; want %q", in, got, err, v.str("expected_unsign"))
		}
	}
	return nil
}

func timestampSigner(v vec, cfg signing.Config) (*signing.TimestampSigner, error) {
	return signing.NewTimestampSigner(signing.TimestampConfig{Config: cfg, Now: clock(v)})
}

func checkTimestamp(v vec) error {
	s, err := timestampSigner(v, signerConfig(v, "signer"))
	if err != nil {
		return err
	}
	if v.has("expected_signed") {
		if got := s.Sign(v.str("value")); got != v.str("expected_signed") {
			return fmt.Errorf("Sign = %q, want %q", got, v.str("expected_signed"))
		}
		return nil
	}
	got, err := s.Unsign(v.str("signed"), duration(v["max_age"]))
	return compareResult(v.str("expected"), got, err)
}

func compareResult(want, got string, err error) error {
	if isErrName(want) {
		return expectErr(want, err)
	}
	if err != nil || got != want {
		return fmt.Errorf("got %q, %v; want %q", got, err, want)
	}
	return nil
}

// dumpsConfig is the signer dumps/loads build, with Django's defaults: key
// None means SECRET_KEY and fallback_keys None SECRET_KEY_FALLBACKS (from
// the vector's settings); an absent salt is dumps' default
// "django.core.signing", while an empty or null one falls back, as in
// Django, to the TimestampSigner's own default.
func dumpsConfig(v vec) signing.Config {
	st := readSettings(v)
	c := signing.Config{Key: key(v["key"]), Salt: v.str("salt")}
	if c.Key == nil {
		c.Key = st.key
	}
	if fb, ok := keys(v["fallback_keys"]); ok {
		c.FallbackKeys = fb
	} else {
		c.FallbackKeys = st.fallbacks
	}
	if _, ok := v["salt"]; !ok {
		c.Salt = signing.DefaultDumpsSalt
	}
	return c
}

func checkDumps(v vec) error {
	s, err := timestampSigner(v, dumpsConfig(v))
	if err != nil {
		return err
	}
	if v.has("loads_input") {
		var got any
		err := s.Loads(v.str("loads_input"), duration(v["max_age"]), &got)
		if want := v.str("expected"); isErrName(want) {
			return expectErr(want, err)
		}
		return equalJSON(got, err, v["expected"])
	}
	if !v.has("expected_dumps") && !v.has("expected_dumps_python_zlib") {
		return errors.New("vector has no expected_dumps, expected_dumps_python_zlib or loads_input")
	}
	var compress bool
	json.Unmarshal(v["compress"], &compress)
	obj := v["obj"] // json.RawMessage keeps Python's key order
	if v.has("expected_dumps") {
		got, err := s.Dumps(obj, compress)
		if err != nil {
			return err
		}
		if got != v.str("expected_dumps") {
			return fmt.Errorf("Dumps = %q, want %q", got, v.str("expected_dumps"))
		}
		if v.has("payload_json") {
			j, _ := signing.MarshalJSON(obj)
			if string(j) != v.str("payload_json") {
				return fmt.Errorf("JSON %s, want %s", j, v.str("payload_json"))
			}
		}
	}
	if v.has("expected_dumps_python_zlib") {
		// Decode-only: zlib implementations differ (Go's deflate finds no
		// 3-byte matches, so short inputs may not shrink enough to be
		// compressed), so Django's string must load, and ours must
		// round-trip, but the bytes need not match.
		ours, err := s.Dumps(obj, compress)
		if err != nil {
			return err
		}
		if err := loadsEqual(s, v.str("expected_dumps_python_zlib"), obj); err != nil {
			return fmt.Errorf("Django's value: %v", err)
		}
		if err := loadsEqual(s, ours, obj); err != nil {
			return fmt.Errorf("our value: %v", err)
		}
	}
	return nil
}

// equalJSON compares a decoded value with the vector's expected JSON value
// (any type: string, list, object).
func equalJSON(got any, err error, expected json.RawMessage) error {
	var want any
	if jerr := json.Unmarshal(expected, &want); jerr != nil {
		return fmt.Errorf("bad expected value: %v", jerr)
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		return fmt.Errorf("got %v, %v; want %s", got, err, expected)
	}
	return nil
}

// checkSignObject replays Signer.sign_object / unsign_object: the object
// payload signed without a timestamp by the vector's signer. Uncompressed
// outputs must match byte for byte; compressed ones (a payload starting
// with '.') are decode-only, as zlib implementations differ.
func checkSignObject(v vec) error {
	s, err := signing.NewSigner(signerConfig(v, "signer"))
	if err != nil {
		return err
	}
	var compress bool
	json.Unmarshal(v["compress"], &compress)
	obj := v["obj"]
	ours, err := s.SignObject(obj, compress)
	if err != nil {
		return err
	}
	if err := unsignObjectEqual(s, ours, obj); err != nil {
		return fmt.Errorf("our value: %v", err)
	}
	checked := false
	for _, k := range []string{"expected_signed", "expected_signed_object", "expected_dumps", "expected_dumps_python_zlib", "expected_signed_object_python_zlib"} {
		if !v.has(k) {
			continue
		}
		checked = true
		want := v.str(k)
		if err := unsignObjectEqual(s, want, obj); err != nil {
			return fmt.Errorf("Django's value: %v", err)
		}
		if !strings.HasPrefix(want, ".") && !strings.HasSuffix(k, "_zlib") && ours != want {
			return fmt.Errorf("SignObject = %q, want %q", ours, want)
		}
	}
	if !checked {
		return errors.New("vector has no expected signed object")
	}
	return nil
}

func unsignObjectEqual(s *signing.Signer, signed string, obj json.RawMessage) error {
	var got any
	err := s.UnsignObject(signed, &got)
	return equalJSON(got, err, obj)
}

func loadsEqual(s *signing.TimestampSigner, signed string, obj json.RawMessage) error {
	var got, want any
	if err := s.Loads(signed, 0, &got); err != nil {
		return err
	}
	json.Unmarshal(obj, &want)
	if !reflect.DeepEqual(got, want) {
		return fmt.Errorf("Loads = %v, want %v", got, want)
	}
	return nil
}

func cookieSigner(v vec) (*signing.CookieSigner, error) {
	st := readSettings(v)
	return signing.NewCookieSigner(signing.CookieConfig{
		Key:                     st.key,
		FallbackKeys:            st.fallbacks,
		AllowInsecureLegacySalt: st.legacy,
		Now:                     clock(v),
	})
}

func checkSignedCookie(v vec) error {
	s, err := cookieSigner(v)
	if err != nil {
		return err
	}
	name, salt := v.str("cookie_name"), v.str("salt")
	if v.has("expected_cookie_value") {
		if got := s.Sign(name, v.str("value"), salt); got != v.str("expected_cookie_value") {
			return fmt.Errorf("Sign = %q, want %q", got, v.str("expected_cookie_value"))
		}
		return nil
	}
	got, err := s.Unsign(name, v.str("cookie_value"), salt, duration(v["max_age"]))
	if _, hasDefault := v["default"]; hasDefault && err != nil {
		// get_signed_cookie(default=...): a bad signature gives the default.
		got, err = v.str("default"), nil
	}
	return compareResult(v.str("expected"), got, err)
}

// sessionSalt is the salt Django's session backends pass to dumps.
func sessionSalt(backend string) string {
	if backend == "signed_cookies" {
		return "django.contrib.sessions.backends.signed_cookies"
	}
	return "django.contrib.sessions.SessionStore"
}

func checkSessionEncoding(v vec) error {
	st := readSettings(v)
	s, err := timestampSigner(v, signing.Config{Key: st.key, FallbackKeys: st.fallbacks, Salt: sessionSalt(v.str("backend"))})
	if err != nil {
		return err
	}
	want := v.str("expected_session_data")
	if want == "" {
		want = v.str("expected_cookie_value")
	}
	got, err := s.Dumps(v["session_dict"], true)
	if err != nil {
		return err
	}
	// A compressed value ('.' prefix) is decode-only: zlib implementations
	// differ, so ours must round-trip and Django's must load (below).
	if got != want && !strings.HasPrefix(want, ".") {
		return fmt.Errorf("encode = %q, want %q", got, want)
	}
	if err := loadsEqual(s, got, v["session_dict"]); err != nil {
		return fmt.Errorf("our value: %v", err)
	}
	var back map[string]any
	if err := s.Loads(want, 0, &back); err != nil {
		return err
	}
	j, _ := signing.MarshalJSON(back)
	var orig map[string]any
	json.Unmarshal(v["session_dict"], &orig)
	o, _ := signing.MarshalJSON(orig)
	if !bytes.Equal(j, o) {
		return fmt.Errorf("decode = %s, want %s", j, o)
	}
	return nil
}
