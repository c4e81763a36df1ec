package limits_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/limits"
)

func TestParseForm(t *testing.T) {
	lim := limits.Default()
	lim.MaxFields, lim.MaxFormBytes = 3, 20
	for _, tc := range []struct {
		name, query, ct, body string
		want                  error
		form                  map[string]string
	}{
		{"urlencoded", "q=1", "application/x-www-form-urlencoded", "a=1&b=x+y&c=%41", nil, map[string]string{"a": "1", "b": "x y", "c": "A"}},
		{"semicolon is data", "", "application/x-www-form-urlencoded; charset=utf-8", "a=1;b=2", nil, map[string]string{"a": "1;b=2"}},
		{"invalid escape kept", "", "application/x-www-form-urlencoded", "a=%zz", nil, map[string]string{"a": "%zz"}},
		{"json not read", "", "application/json", `{"a":1}`, nil, map[string]string{}},
		{"too many body fields", "", "application/x-www-form-urlencoded", "a&b&c&d", limits.ErrTooManyFields, nil},
		{"empty fields count", "", "application/x-www-form-urlencoded", "a=1&&&", limits.ErrTooManyFields, nil},
		{"too many query fields", "a&b&c&d", "", "", limits.ErrTooManyFields, nil},
		{"body too big", "", "application/x-www-form-urlencoded", strings.Repeat("a", 21), limits.ErrDataTooBig, nil},
		{"not UTF-8", "", "application/x-www-form-urlencoded", "a=\xff", limits.ErrBadEncoding, nil},
		{"declared latin-1", "", "application/x-www-form-urlencoded; charset=latin-1", "a=1", limits.ErrBadEncoding, nil},
		{"declared UTF-8", "", "application/x-www-form-urlencoded; charset=UTF-8", "a=1", nil, map[string]string{"a": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/?"+tc.query, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			r.ContentLength = -1 // the actual size must be counted
			_, form, err := limits.ParseForm(r, &lim)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			for k, v := range tc.form {
				if form.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, form.Get(k), v)
				}
			}
			if tc.form != nil && len(form) != len(tc.form) {
				t.Errorf("form %v", form)
			}
		})
	}
}

func TestReadBodyDeclaredAndActual(t *testing.T) {
	lim := limits.Default()
	lim.MaxFormBytes = 10
	for _, tc := range []struct {
		body     string
		declared string
		want     error
	}{
		{"0123456789", "10", nil},
		{"0123456789", "", nil},
		{"0123456789x", "", limits.ErrDataTooBig},      // missing Content-Length
		{"0123456789x", "3", limits.ErrDataTooBig},     // understated
		{"0", "11", limits.ErrDataTooBig},              // declared over: refused before reading
		{"0123456789", "abc", nil},                     // malformed counts as 0, actual size still checked
		{"0123456789xyz", "abc", limits.ErrDataTooBig}, // ... and enforced
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		r.ContentLength = -1
		r.Header.Del("Content-Length")
		if tc.declared != "" {
			r.Header.Set("Content-Length", tc.declared)
		}
		_, err := limits.ReadBody(r, lim)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("body %q declared %q: err %v, want %v", tc.body, tc.declared, err, tc.want)
		}
	}
}

func queryFuzzSeeds() []string {
	return []string{"a=1&b=2", "a=1&&&", "a=1;b=2", "%zz=%", "a+b=c+d", "", "&", strings.Repeat("a&", 50)}
}

func TestQueryFuzzSeeds(t *testing.T) {
	if len(queryFuzzSeeds()) == 0 {
		t.Fatal("empty seed corpus")
	}
}

// FuzzParseQuery checks that ParseQuery never returns more values than
// MaxFields and refuses exactly when Django's count exceeds it.
func FuzzParseQuery(f *testing.F) {
	for _, s := range queryFuzzSeeds() {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1000 {
			return
		}
		lim := limits.Default()
		lim.MaxFields = max
		v, err := limits.ParseQuery(s, lim)
		over := limits.CountFields(s) > max
		if over != (err != nil) {
			t.Fatalf("count %d max %d: err %v", limits.CountFields(s), max, err)
		}
		n := 0
		for _, vs := range v {
			n += len(vs)
		}
		if n > max {
			t.Fatalf("%d values kept, max %d", n, max)
		}
	})
}
