package pathset_test

import (
	"errors"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/pathset"
)

func TestMatch(t *testing.T) {
	s := pathset.MustParse("/admin/", "/login", "/accounts/login/")
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/admin/", true},
		{"/admin", true},
		{"/admin/login/", true},
		{"/administrator", false},
		{"/login", true},
		{"/login/", false},
		{"/login/x", false},
		{"/logins", false},
		{"/accounts/login/", true},
		{"/accounts/login", true},
		{"/accounts/", false},
		{"/", false},
		// Not canonical: matched as the router would route it.
		{"/x/../admin/", true},
		{"//admin/", true},
		{"/./login", true},
		{"/admin/../logins", false},
	} {
		if got := s.Match(tc.path); got != tc.want {
			t.Errorf("Match(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	if pathset.MustParse("/").Match("/anything/at/all") != true {
		t.Error(`"/" must match every path`)
	}
	var zero pathset.Set
	if zero.Match("/") || !zero.Empty() {
		t.Error("the zero Set must match nothing")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, p := range []string{"", "admin/", "/a//b", "/a/./b", "/a/../b", "/a/..", "/a?x=1", "/a#b", "/a b", "/a\\b", "/a\x00"} {
		if _, err := pathset.Parse([]string{"/ok", p}); !errors.Is(err, pathset.ErrInvalidPattern) {
			t.Errorf("Parse(%q) = %v, want ErrInvalidPattern", p, err)
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"":          "/",
		"/":         "/",
		"a":         "/a",
		"/a/b/":     "/a/b/",
		"/a//b":     "/a/b",
		"/a/./b/":   "/a/b/",
		"/a/../b":   "/b",
		"/../../b":  "/b",
		"/a/..":     "/",
		"/a/b/../":  "/a/",
		"//":        "/",
		"/a/b/.":    "/a/b",
		"/a/%2e%2e": "/a/%2e%2e", // escapes are the caller's business
	} {
		if got := pathset.Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	s := pathset.MustParse("/admin/", "/login", "/upload/", "/api/v1/")
	n := testing.AllocsPerRun(100, func() {
		_ = s.Match("/upload/avatar/")
		_ = s.Match("/login")
		_ = s.Match("/other/page")
	})
	if n != 0 {
		t.Fatalf("Match allocates %v times per run, want 0", n)
	}
}

// FuzzMatch: matching is decided on the canonical path only, so a path and
// its canonical form always get the same answer, and a prefix pattern
// covers every path that cleans to something below it.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/admin/", "/x/../admin/x", "//admin", "/admin/./", "/login", "/a/b/../../login"} {
		f.Add(s)
	}
	s := pathset.MustParse("/admin/", "/login")
	f.Fuzz(func(t *testing.T, p string) {
		c := pathset.Clean(p)
		if !pathset.IsClean(c) {
			t.Fatalf("Clean(%q) = %q, which is not clean", p, c)
		}
		if pathset.Clean(c) != c {
			t.Fatalf("Clean is not idempotent on %q", p)
		}
		if s.Match(p) != s.Match(c) {
			t.Fatalf("Match(%q) != Match(Clean) = Match(%q)", p, c)
		}
	})
}

func TestMatchAsSentAndMatches(t *testing.T) {
	s := pathset.MustParse("/app/", "/login")
	for _, tt := range []struct {
		p             string
		match, asSent bool
	}{
		{"/app/x", true, true},
		{"/app", true, true},
		{"/app/../api/x", false, true}, // an upstream that does not clean routes it under /app/
		{"/api/../app/x", true, false}, // a router that cleans does
		{"/login", true, true},
		{"/login/", false, false},
		{"//login", true, false},
		{"/apps", false, false},
	} {
		if got := s.Match(tt.p); got != tt.match {
			t.Errorf("Match(%q) = %v, want %v", tt.p, got, tt.match)
		}
		if got := s.MatchAsSent(tt.p); got != tt.asSent {
			t.Errorf("MatchAsSent(%q) = %v, want %v", tt.p, got, tt.asSent)
		}
	}
	for _, tt := range []struct {
		pattern, p string
		want       bool
	}{
		{"/a/", "/a", true}, {"/a/", "/a/b", true}, {"/a/", "/ab", false},
		{"/a", "/a", true}, {"/a", "/a/", false}, {"/", "/x", true},
	} {
		if got := pathset.Matches(tt.pattern, tt.p); got != tt.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tt.pattern, tt.p, got, tt.want)
		}
	}
}
