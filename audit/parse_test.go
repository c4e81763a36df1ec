package audit_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/headers"
)

// HSTS headers as RFC 6797 §6.1 defines them, with attack rows (values
// a careless parser would accept as a strong policy).
var hstsCases = []struct {
	in              string
	age             int64
	subdomains, pre bool
	ok              bool
}{
	{"max-age=31536000", 31536000, false, false, true},
	{"max-age=63072000; includeSubDomains; preload", 63072000, true, true, true},
	{`max-age="31536000"; INCLUDESUBDOMAINS`, 31536000, true, false, true},
	{" max-age = 300 ;", 300, false, false, true},
	{"max-age=0", 0, false, false, true},
	{"includeSubDomains; preload", 0, false, false, false},          // no max-age
	{"max-age=31536000; max-age=1", 0, false, false, false},         // repeated directive
	{"max-age=-1", 0, false, false, false},                          // negative
	{"max-age=1e9", 0, false, false, false},                         // not digits
	{"max-age=+31536000", 0, false, false, false},                   // sign
	{"max-age", 0, false, false, false},                             // no value
	{"max-age=99999999999999999999999", 0, false, false, false},     // overflow
	{"max-age=31536000, includeSubDomains", 0, false, false, false}, // comma is no separator
	{"max-age=31536000; includeSubDomains; includeSubDomains", 0, false, false, false},
}

func TestParseHSTS(t *testing.T) {
	for _, tc := range hstsCases {
		age, sub, pre, err := audit.ParseHSTS(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (age != tc.age || sub != tc.subdomains || pre != tc.pre) {
			t.Errorf("%q: got %d %v %v", tc.in, age, sub, pre)
		}
	}
}

// FuzzParseHSTS: a header that parses has exactly one max-age directive
// with a non-negative value, and includeSubDomains or preload are only
// reported when the header names them.
func FuzzParseHSTS(f *testing.F) {
	for _, tc := range hstsCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, v string) {
		age, sub, pre, err := audit.ParseHSTS(v)
		if err != nil {
			return
		}
		lv := strings.ToLower(v)
		if age < 0 || strings.Count(lv, "max-age") < 1 {
			t.Fatalf("%q: max-age %d accepted", v, age)
		}
		if sub && !strings.Contains(lv, "includesubdomains") || pre && !strings.Contains(lv, "preload") {
			t.Fatalf("%q: directive reported that is not in the header", v)
		}
	})
}

func TestHSTSSeedCorpus(t *testing.T) {
	if len(hstsCases) == 0 || len(cspCases) == 0 {
		t.Fatal("empty seed corpus")
	}
}

var cspCases = []struct {
	policy       string
	inline, weak string
	ok           bool
}{
	{"default-src 'self'", "", "", true},
	{"script-src 'self' 'unsafe-inline'", "'unsafe-inline'", "", true},
	{"script-src 'self' 'unsafe-inline' 'nonce-abc'", "", "", true}, // ignored with a nonce
	{"script-src 'unsafe-inline' 'sha256-abc='", "", "", true},      // ignored with a hash
	{"script-src 'strict-dynamic' 'nonce-a' https: 'unsafe-inline'", "", "", true},
	{"default-src *", "", "*", true},
	{"default-src 'self'; script-src 'self' 'unsafe-eval'", "", "'unsafe-eval'", true},
	{"script-src data:", "", "data:", true},
	{"default-src 'none'; script-src 'self'", "", "", true},
	{"img-src *", "", "", false}, // scripts unrestricted
	{"SCRIPT-SRC 'UNSAFE-INLINE'", "'UNSAFE-INLINE'", "", true},
}

func TestScriptWeakness(t *testing.T) {
	for _, tc := range cspCases {
		inline, weak, ok := audit.ScriptWeakness(tc.policy)
		if inline != tc.inline || weak != tc.weak || ok != tc.ok {
			t.Errorf("%q: got %q %q %v, want %q %q %v", tc.policy, inline, weak, ok, tc.inline, tc.weak, tc.ok)
		}
	}
}

// FuzzScriptWeakness: for a script-src list, 'unsafe-inline' is reported
// exactly when it is present and not neutralised by a nonce, a hash or
// 'strict-dynamic' (CSP Level 3).
func FuzzScriptWeakness(f *testing.F) {
	for _, tc := range cspCases {
		_, srcs, _ := strings.Cut(tc.policy, " ")
		f.Add(srcs)
	}
	f.Fuzz(func(t *testing.T, srcs string) {
		if strings.Contains(srcs, ";") {
			return // one directive
		}
		inline, _, ok := audit.ScriptWeakness("script-src " + srcs)
		if !ok {
			t.Fatalf("%q: script-src not found", srcs)
		}
		present, neutralised := false, false
		for _, tok := range strings.Fields(srcs) {
			lt := strings.ToLower(tok)
			switch {
			case lt == "'unsafe-inline'":
				present = true
			case tok == headers.NonceSentinel, tok == "'"+headers.NonceSentinel+"'",
				lt == "'strict-dynamic'", strings.HasPrefix(lt, "'nonce-"), strings.HasPrefix(lt, "'sha256-"),
				strings.HasPrefix(lt, "'sha384-"), strings.HasPrefix(lt, "'sha512-"):
				neutralised = true
			}
		}
		if (inline != "") != (present && !neutralised) {
			t.Fatalf("%q: reported %q, present=%v neutralised=%v", srcs, inline, present, neutralised)
		}
	})
}

func TestFramingRestricted(t *testing.T) {
	for _, tt := range []struct {
		policies []string
		want     bool
	}{
		{nil, false},
		{[]string{"frame-ancestors 'none'"}, true},
		{[]string{"default-src 'self'; frame-ancestors 'self' https://app.example.com"}, true},
		{[]string{"FRAME-ANCESTORS 'self'"}, true},
		{[]string{"frame-ancestors"}, true}, // no source: 'none'
		{[]string{"default-src 'self'"}, false},
		// Sources that let any site frame the page.
		{[]string{"frame-ancestors *"}, false},
		{[]string{"frame-ancestors https:"}, false},
		{[]string{"frame-ancestors 'self' https:"}, false},
		// The name elsewhere is no directive.
		{[]string{"default-src 'self'; report-uri /frame-ancestors"}, false},
		// Only a directive's first occurrence counts.
		{[]string{"frame-ancestors *; frame-ancestors 'none'"}, false},
		// Every policy is enforced: one restrictive policy suffices,
		// whether in its own header or after a comma.
		{[]string{"frame-ancestors *", "frame-ancestors 'self'"}, true},
		{[]string{"frame-ancestors *, frame-ancestors 'self'"}, true},
	} {
		if got := audit.FramingRestricted(tt.policies...); got != tt.want {
			t.Errorf("FramingRestricted(%q) = %v, want %v", tt.policies, got, tt.want)
		}
	}
}

// FuzzSamplePaths: the links the headers-by-path probe follows come from
// the scanned page. Property: every sampled path is a path (it starts
// with "/"), at most the bound are returned, none repeats, and the page
// cannot send the scan to another host or scheme.
func FuzzSamplePaths(f *testing.F) {
	seeds := []string{
		`<a href="/about">a</a><a href='/x?y#z'>b</a>`,
		`<a href="https://evil.example/">e</a><a href="//evil.example/p">p</a>`,
		`<a class=x href = "/a/../b">c</a><A HREF="http://example.com/plain">d</A>`,
		`<a href="javascript:alert(1)">j</a><a href="data:text/html,x">d</a>`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, page string) {
		paths := audit.SamplePaths("https://example.com/", page, 3)
		if len(paths) > 3 {
			t.Fatalf("%d paths", len(paths))
		}
		seen := map[string]bool{}
		for _, p := range paths {
			if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || seen[p] {
				t.Fatalf("path %q from %q", p, page)
			}
			seen[p] = true
			u, err := url.Parse("https://example.com/")
			if err != nil {
				t.Fatal(err)
			}
			if r, err := u.Parse(p); err != nil || r.Host != "example.com" || r.Scheme != "https" {
				t.Fatalf("path %q leaves the site", p)
			}
		}
	})
}
