package percent_test

import (
	"testing"

	"github.com/bulwarkdev/bulwark/internal/percent"
)

// Python's unquote / unquote_plus with errors="replace", before the UTF-8
// repair: invalid escapes stay as they are.
func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		in         string
		plus       bool
		want       string
		wantNoPlus string
	}{
		{"a+b%20c", true, "a b c", "a+b c"},
		{"%41%6a%6A", true, "Ajj", "Ajj"},
		{"100%", true, "100%", "100%"},
		{"%4", true, "%4", "%4"},
		{"%zz%4g", true, "%zz%4g", "%zz%4g"},
		{"%%41", true, "%A", "%A"},
		{"%00%ff", true, "\x00\xff", "\x00\xff"},
		{"", true, "", ""},
	} {
		if got := percent.Decode(tc.in, true); got != tc.want {
			t.Errorf("Decode(%q, true) = %q, want %q", tc.in, got, tc.want)
		}
		if got := percent.Decode(tc.in, false); got != tc.wantNoPlus {
			t.Errorf("Decode(%q, false) = %q, want %q", tc.in, got, tc.wantNoPlus)
		}
	}
}

func TestHex(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := -1
		switch {
		case '0' <= c && c <= '9':
			want = c - '0'
		case 'a' <= c && c <= 'f':
			want = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			want = c - 'A' + 10
		}
		if percent.IsHex(byte(c)) != (want >= 0) {
			t.Fatalf("IsHex(%q) = %v", byte(c), !(want >= 0))
		}
		if want >= 0 && int(percent.Unhex(byte(c))) != want {
			t.Fatalf("Unhex(%q) = %d, want %d", byte(c), percent.Unhex(byte(c)), want)
		}
	}
}
