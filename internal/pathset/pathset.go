// Package pathset is the one path grammar of Bulwark's configuration: every
// list of paths in a Config or in the gateway's TOML file ([uploads],
// [edge], [https] exemptions, [[rate_limit]], limits routes) is parsed and
// matched here, so that one pattern means the same thing everywhere.
//
// The grammar:
//
//   - A pattern is an absolute, clean path: it starts with "/", and has no
//     "." or ".." segment, no empty segment ("//"), no query or fragment.
//   - A pattern that ends in "/" is a prefix: it matches itself, every path
//     below it, and the same path without its trailing slash ("/admin/"
//     matches "/admin", "/admin/" and "/admin/login/"). "/" matches every
//     path.
//   - Any other pattern is exact: "/login" matches "/login" only (not
//     "/login/", not "/login/x", not "/logins").
//
// Matching is done on the canonical path (see Clean): the path the
// upstream or the router receives, never the path as the client spelled
// it, so that "/x/../admin/" and "//admin/" are judged as "/admin/".
package pathset

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// ErrInvalidPattern is wrapped by Parse's errors.
var ErrInvalidPattern = errors.New("invalid path pattern")

// Set is a parsed list of patterns. The zero Set matches nothing. A Set is
// immutable and safe for concurrent use.
type Set struct {
	exact    map[string]struct{}
	prefixes []string // each ends in "/"
	patterns []string // as given, for printing
}

// Parse validates patterns and returns the Set they form. An error names
// the first bad pattern, quoted.
func Parse(patterns []string) (Set, error) {
	var s Set
	for _, p := range patterns {
		if err := Validate(p); err != nil {
			return Set{}, err
		}
		s.patterns = append(s.patterns, p)
		if strings.HasSuffix(p, "/") {
			if !slices.Contains(s.prefixes, p) {
				s.prefixes = append(s.prefixes, p)
			}
			continue
		}
		if s.exact == nil {
			s.exact = make(map[string]struct{})
		}
		s.exact[p] = struct{}{}
	}
	return s, nil
}

// MustParse is Parse for patterns known to be valid (tests, constants); it
// panics on an invalid pattern.
func MustParse(patterns ...string) Set {
	s, err := Parse(patterns)
	if err != nil {
		panic(err)
	}
	return s
}

// Validate reports whether p is a valid pattern.
func Validate(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrInvalidPattern)
	case p[0] != '/':
		return fmt.Errorf("%w: %q must start with /", ErrInvalidPattern, p)
	case strings.ContainsAny(p, "?#"):
		return fmt.Errorf("%w: %q holds a query or fragment", ErrInvalidPattern, p)
	case strings.ContainsFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }):
		return fmt.Errorf("%w: %q holds a space, a control character or a backslash", ErrInvalidPattern, p)
	case Clean(p) != p:
		return fmt.Errorf("%w: %q is not clean (write %q)", ErrInvalidPattern, p, Clean(p))
	}
	return nil
}

// Match reports whether the canonical path p matches one of the patterns.
// It does not allocate. p is expected to be canonical already (Clean(p) ==
// p); a path that is not is matched after cleaning, which allocates.
func (s Set) Match(p string) bool {
	if len(s.exact) == 0 && len(s.prefixes) == 0 {
		return false
	}
	if !IsClean(p) {
		p = Clean(p)
	}
	return s.MatchAsSent(p)
}

// MatchAsSent reports whether p, as the client spelt it, matches one of
// the patterns, without cleaning it: for a check that must also cover the
// path an upstream that does not clean paths (Django behind gunicorn)
// routes on, so that "/app/../api/x" is under "/app/" too. A check is
// then applied when Match or MatchAsSent holds. It does not allocate.
func (s Set) MatchAsSent(p string) bool {
	if _, ok := s.exact[p]; ok {
		return true
	}
	for _, pre := range s.prefixes {
		if matchPrefix(pre, p) {
			return true
		}
	}
	return false
}

// Matches reports whether the canonical path p matches the one valid
// pattern. It does not allocate; p is not cleaned (see Clean).
func Matches(pattern, p string) bool {
	if strings.HasSuffix(pattern, "/") {
		return matchPrefix(pattern, p)
	}
	return p == pattern
}

func matchPrefix(pre, p string) bool {
	return strings.HasPrefix(p, pre) || len(p)+1 == len(pre) && pre[:len(p)] == p
}

// Empty reports whether the Set has no pattern.
func (s Set) Empty() bool { return len(s.patterns) == 0 }

// Patterns returns the patterns as given to Parse.
func (s Set) Patterns() []string { return slices.Clone(s.patterns) }

// Clean returns the canonical form of a URL path: dot segments resolved and
// empty segments removed as http.ServeMux does, a trailing slash kept, ""
// as "/". A clean path is returned as is, without allocating.
func Clean(p string) string {
	if IsClean(p) {
		return p
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if strings.HasSuffix(p, "/") && np != "/" {
		np += "/"
	}
	return np
}

// IsClean reports whether p is already canonical: absolute, with no empty,
// "." or ".." segment.
func IsClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	return !strings.Contains(p, "//") && !strings.Contains(p, "/./") && !strings.Contains(p, "/../") &&
		!strings.HasSuffix(p, "/.") && !strings.HasSuffix(p, "/..")
}
