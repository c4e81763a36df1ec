package cookie_test

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cookie"
)

// Rows transcribed from Python's http.cookies._quote.
func TestQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"abc", "abc"},
		{"", `""`},
		{"a:b!#$%&'*+-.^_`|~", "a:b!#$%&'*+-.^_`|~"},
		{"a b", `"a b"`},
		{"a;b", `"a\073b"`},
		{"a,b", `"a\054b"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"é", `"\351"`},
		{"€", `"€"`},
		{"\r\nSet-Cookie: x=y", `"\015\012Set-Cookie: x=y"`},
	} {
		if got := string(cookie.AppendQuoted(nil, tt.in)); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJar(t *testing.T) {
	now := time.Unix(1700000000, 0)
	j := &cookie.Jar{Now: func() time.Time { return now }}
	if err := j.SetCookie("c", "v", cookie.Options{SameSite: "sometimes"}); !errors.Is(err, cookie.ErrSameSite) {
		t.Fatalf("invalid samesite: %v", err)
	}
	d := time.Minute
	if err := j.SetCookie("c", "v", cookie.Options{MaxAge: &d, ExpiresAt: now}); !errors.Is(err, cookie.ErrExpiresAndMaxAge) {
		t.Fatalf("expires with max_age: %v", err)
	}
	j = &cookie.Jar{Now: func() time.Time { return now }}
	j.SetCookie("c", "v", cookie.Options{ExpiresAt: now.Add(time.Hour), Path: cookie.Root()})
	if got, want := j.Headers()[0], "c=v; expires=Tue, 14 Nov 2023 23:13:21 GMT; Max-Age=3601; Path=/"; got != want {
		t.Fatalf("datetime expires: %s, want %s", got, want)
	}
}

func TestAppendHTTPDate(t *testing.T) {
	for _, sec := range []int64{0, 1700000000, 1209600 + 1700000000, 951782400, 4102444799, 253402300799} {
		tm := time.Unix(sec, 0)
		want := tm.UTC().Format(http.TimeFormat)
		if got := string(cookie.AppendHTTPDate(nil, tm)); got != want {
			t.Errorf("AppendHTTPDate(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestVary(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []string
		want []string
	}{
		{"none", nil, []string{"Cookie"}},
		{"other", []string{"Accept-Encoding"}, []string{"Accept-Encoding", "Cookie"}},
		{"listed", []string{"Accept-Encoding, cookie"}, []string{"Accept-Encoding, cookie"}},
		{"star", []string{"*"}, []string{"*"}},
		{"second line", []string{"Origin", " COOKIE "}, []string{"Origin", " COOKIE "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.in != nil {
				h["Vary"] = append([]string(nil), tt.in...)
			}
			cookie.Vary(h)
			if !slices.Equal(h["Vary"], tt.want) {
				t.Errorf("Vary = %q, want %q", h["Vary"], tt.want)
			}
		})
	}
	h := http.Header{"Vary": {"Cookie"}}
	if n := testing.AllocsPerRun(100, func() { cookie.Vary(h) }); n != 0 {
		t.Errorf("Vary allocates %v times when Cookie is listed", n)
	}
}
