package bulwark_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Django compiles SECURE_REDIRECT_EXEMPT with Python's re module; Bulwark's
// httpsonly.Config.Exempt takes Go (RE2) syntax. pyRegexToRE2 rewrites a
// Python pattern into an RE2 pattern that searches the same strings, for
// the constructs whose meaning differs or that RE2 spells differently, and
// refuses the ones RE2 cannot express, so that a vector never passes or
// fails on a dialect difference instead of on behaviour:
//
//   - \Z (end of text) is RE2's \z; \uXXXX and \UXXXXXXXX are \x{...}.
//   - $ without MULTILINE also matches before a final newline: \n?\z.
//   - \d, \w and \s are Unicode classes in Python's str patterns and ASCII
//     in RE2: they become \p{Nd}, [\p{L}\p{N}_] and Python's whitespace set.
//   - {,n} is {0,n} (RE2 reads it as literal text).
//   - Lookarounds, backreferences, conditionals, atomic groups, comments,
//     \b and \B (Unicode word boundaries), and the a, L, u, x and m flags
//     have no RE2 counterpart and are refused.
func pyRegexToRE2(p string) (string, error) {
	const (
		word  = `\p{L}\p{N}_`
		space = `\t\n\v\f\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}`
	)
	refuse := func(what string) (string, error) {
		return "", fmt.Errorf("python pattern %q: %s has no RE2 counterpart", p, what)
	}
	var b strings.Builder
	inClass, classStart := false, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\\' {
			if i+1 >= len(p) {
				return refuse("a trailing backslash")
			}
			i++
			e := p[i]
			switch {
			case e == 'Z' && !inClass:
				b.WriteString(`\z`)
			case e == 'A' && !inClass:
				b.WriteString(`\A`)
			case e == 'u' || e == 'U':
				n := 4
				if e == 'U' {
					n = 8
				}
				if i+1+n > len(p) {
					return refuse(`a short \` + string(e) + " escape")
				}
				hex := p[i+1 : i+1+n]
				if _, err := strconv.ParseUint(hex, 16, 32); err != nil {
					return refuse(`a malformed \` + string(e) + " escape")
				}
				b.WriteString(`\x{` + hex + `}`)
				i += n
			case e == 'd':
				b.WriteString(`\p{Nd}`)
			case e == 'D':
				b.WriteString(`\P{Nd}`)
			case e == 'w' && inClass:
				b.WriteString(word)
			case e == 'w':
				b.WriteString(`[` + word + `]`)
			case e == 'W' && !inClass:
				b.WriteString(`[^` + word + `]`)
			case e == 's' && inClass:
				b.WriteString(space)
			case e == 's':
				b.WriteString(`[` + space + `]`)
			case e == 'S' && !inClass:
				b.WriteString(`[^` + space + `]`)
			case e == 'b' && inClass:
				b.WriteString(`\x08`) // backspace inside a set
			case strings.IndexByte("afnrtv", e) >= 0:
				b.WriteByte('\\')
				b.WriteByte(e)
			case e == 'x':
				if i+2 >= len(p) {
					return refuse(`a short \x escape`)
				}
				if _, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err != nil {
					return refuse(`a malformed \x escape`)
				}
				b.WriteString(`\x` + p[i+1:i+3])
				i += 2
			case e < 0x80 && (e >= 'a' && e <= 'z' || e >= 'A' && e <= 'Z' || e >= '0' && e <= '9'):
				// \b, \B, \W and \S in a set, backreferences, octal and
				// \N{...}; other letters are errors in Python.
				return refuse(`\` + string(e))
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
			classStart = false
			continue
		}
		if inClass {
			switch {
			case c == ']' && !classStart:
				inClass = false
				b.WriteByte(c)
			case c == '^' && classStart && p[i-1] == '[':
				b.WriteByte(c)
				continue // a ']' right after [^ is still literal
			case c == '[':
				b.WriteString(`\[`) // literal in Python; RE2 reads [: as a POSIX class
			default:
				b.WriteByte(c)
			}
			classStart = false
			continue
		}
		switch c {
		case '[':
			inClass, classStart = true, true
			b.WriteByte(c)
		case '$':
			b.WriteString(`(?:\n?\z)`)
		case '{':
			if m := emptyMinRE.FindString(p[i:]); m != "" {
				b.WriteString("{0" + m[1:])
				i += len(m) - 1
			} else {
				b.WriteByte(c)
			}
		case '(':
			if i+1 < len(p) && p[i+1] == '?' {
				rest := p[i+2:]
				switch {
				case strings.HasPrefix(rest, ":"), strings.HasPrefix(rest, "P<"):
				case flagGroupRE.MatchString(rest):
				default:
					return refuse("the group (?" + rest[:min(len(rest), 3)])
				}
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	if inClass {
		return refuse("an unterminated set")
	}
	return b.String(), nil
}

var (
	emptyMinRE  = regexp.MustCompile(`^\{,[0-9]+\}`)
	flagGroupRE = regexp.MustCompile(`^[is]*(?:-[is]+)?[:)]`)
)

func TestPyRegexToRE2(t *testing.T) {
	tests := []struct {
		py      string
		matches []string
		misses  []string
	}{
		{`^insecure/`, []string{"insecure/page"}, []string{"secure/insecure/"}},
		{`^insecure/page\Z`, []string{"insecure/page"}, []string{"insecure/page\n", "insecure/pages"}},
		{`page$`, []string{"a/page", "a/page\n"}, []string{"a/page\n\n", "pages"}},
		{`^caf\u00e9/`, []string{"café/x"}, []string{"cafe/x"}},
		{`^\d+/$`, []string{"12/", "١٢/"}, []string{"a/"}},
		{`^\w+$`, []string{"straße"}, []string{"a-b"}},
		{`^a\sb`, []string{"a b", "a\u00a0b"}, []string{"ab"}},
		{`^[\w-]+/`, []string{"a-é/"}, []string{"/"}},
		{`^[]a]`, []string{"]", "a"}, []string{"b"}},
		{`^[^]a]`, []string{"b"}, []string{"]", "a"}},
		{`^x{,2}y`, []string{"y", "xxy"}, []string{"xxxy"}},
		{`(?i)^API/`, []string{"api/x"}, []string{"x/api"}},
		{`^(?P<v>v[0-9])/`, []string{"v1/"}, []string{"v/"}},
		{`^a\.b\x41`, []string{"a.bA"}, []string{"aXbA"}},
		{`^[[:a]`, []string{"[", ":"}, []string{"b"}},
	}
	for _, tt := range tests {
		re2, err := pyRegexToRE2(tt.py)
		if err != nil {
			t.Errorf("%q: %v", tt.py, err)
			continue
		}
		re, err := regexp.Compile(re2)
		if err != nil {
			t.Errorf("%q -> %q: %v", tt.py, re2, err)
			continue
		}
		for _, s := range tt.matches {
			if !re.MatchString(s) {
				t.Errorf("%q (as %q) does not match %q", tt.py, re2, s)
			}
		}
		for _, s := range tt.misses {
			if re.MatchString(s) {
				t.Errorf("%q (as %q) matches %q", tt.py, re2, s)
			}
		}
	}
	for _, py := range []string{`(?=a)`, `(?!a)`, `(?<=a)b`, `(?<!a)b`, `(a)\1`, `(?P<x>a)(?P=x)`, `(?x) a`, `(?m)a$`, `(?a)\w`, `\bword\b`, `a\B`, `[\W]`, `[\S]`, `(?#c)a`, `(?>a)`, `(?(1)a|b)`, `\N{BULLET}`, `a\`, `[a`, `\u12`, `\q`} {
		if re2, err := pyRegexToRE2(py); err == nil {
			t.Errorf("%q translated to %q, want a refusal", py, re2)
		}
	}
}
