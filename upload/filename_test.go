package upload_test

import (
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/upload"
)

// TestIsPrintable transcribes Python's str.isprintable for one character
// of each relevant Unicode category.
func TestIsPrintable(t *testing.T) {
	for _, tc := range []struct {
		r    rune
		want bool
	}{
		{' ', true}, {'a', true}, {'~', true}, {'é', true}, {'中', true},
		{'\u0301', true},     // Mn combining acute
		{'€', true},          // Sc
		{'\U0001F600', true}, // So emoji
		{'\uFFFD', true},     // So replacement character
		{'\x00', false}, {'\n', false}, {'\t', false}, {'\x7f', false},
		{'\u0085', false},     // Cc NEL
		{'\u00AD', false},     // Cf soft hyphen
		{'\u200B', false},     // Cf zero width space
		{'\u202E', false},     // Cf right-to-left override
		{'\uFEFF', false},     // Cf BOM
		{'\u2028', false},     // Zl
		{'\u2029', false},     // Zp
		{'\u00A0', false},     // Zs no-break space
		{'\u3000', false},     // Zs ideographic space
		{'\uE000', false},     // Co private use
		{'\U000F0000', false}, // Co plane 15
		{'\u0378', false},     // Cn unassigned
		{rune(0xD800), false}, // Cs surrogate (never valid in Go strings)
	} {
		if got := upload.IsPrintable(tc.r); got != tc.want {
			t.Errorf("IsPrintable(%U) = %v, want %v", tc.r, got, tc.want)
		}
	}
}

// TestDisplayNameAttacks: whatever the client sends as a filename, the
// label keeps no separator, NUL or invisible character, and the storage
// name is ours.
func TestDisplayNameAttacks(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"../../etc/passwd", "passwd"},
		{`..\..\windows\system32\cmd.exe`, "cmd.exe"},
		{"..%2F..%2Fetc%2Fpasswd", "..%2F..%2Fetc%2Fpasswd"}, // not decoded: a literal label
		{"..%252F..%252Fx", "..%252F..%252Fx"},
		{"..&#x2F;..&#47;x", "x"},                // entities are unescaped first (Django)
		{"..&amp;#x2F;x", "..&#x2F;x"},           // once only
		{"a.png\x00.exe", "a.png.exe"},           // NUL dropped
		{"\u2215etc\u2215passwd", "∕etc∕passwd"}, // division slash is not a separator
		{"\uff0fetc\uff0fpasswd", "／etc／passwd"}, // neither is the fullwidth solidus
		{"x\u202Egnp.exe", "xgnp.exe"},           // bidi override removed
		{"e\u0301.png", "é.png"},                 // NFC
		{"C:evil.txt", "C:evil.txt"},             // drive-relative survives as a label
		{"\u3000", ""},                           // only a non-printable: dropped
		{strings.Repeat("a", 300) + ".png", strings.Repeat("a", 251) + ".png"},
	} {
		got, ok := upload.DisplayName(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("DisplayName(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
		if strings.ContainsAny(got, "/\\\x00") {
			t.Errorf("DisplayName(%q) = %q holds a separator", tc.in, got)
		}
	}
}

// TestSanitizeFilenameEntities: HTML references are decoded exactly as
// Python's html.unescape decodes them (expected values computed with
// Python), including where Go's html.UnescapeString differs.
func TestSanitizeFilenameEntities(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"..&#x2F;x.txt", "x.txt", true},
		{"a&#47", "", false},                            // one-digit reference at the very end: "a/" -> ""
		{"x&#0", "x\uFFFD", true},                       // U+0000 at the very end
		{"a&#4294967343;b", "a\uFFFDb", true},           // beyond int32: U+FFFD, never a wrapped "/"
		{"a&#99999999999999999999;b", "a\uFFFDb", true}, // far beyond U+10FFFF
		{"&#x;a.txt", "&#x;a.txt", true},                // "&#x;" holds no digit: literal
		{"&#38;#47;x", "&#47;x", true},                  // decoded once: "&#38;" gives "&" only
		{"&#x80;.txt", "€.txt", true},                   // Windows-1252 table
		{"&amp&lt.txt", "&<.txt", true},                 // legacy names without ";"
		{"&notit;.txt", "¬it;.txt", true},               // longest legacy prefix
		{"a&#xD800;b", "a\uFFFDb", true},                // surrogate: U+FFFD
		{"&#46;&#46;", "", false},                       // references decoding to "..": dropped
	} {
		got, ok := upload.SanitizeFilename(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("SanitizeFilename(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
