package upload

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// SanitizeFilename is Django's MultiPartParser.sanitize_file_name: it
// unescapes HTML entities, keeps what follows the last "/" and then the
// last "\", and removes every character Python's str.isprintable rejects.
// It reports false when nothing usable is left ("", "." or ".."), where
// Django silently drops the part.
//
// The result is a client-chosen label, not a safe storage name: it may
// contain "<", quotes, ":" (drive-relative "C:x"), leading or trailing
// spaces and look-alike characters. Bulwark never uses it as a path; see
// DisplayName and Storage.
func SanitizeFilename(name string) (string, bool) {
	name = strings.ToValidUTF8(name, "\uFFFD")
	name = unescapeHTML(name)
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if isPrintable(r) {
			return r
		}
		return -1
	}, name)
	if name == "" || name == "." || name == ".." {
		return "", false
	}
	return name, true
}

// unescapeHTML is Python's html.unescape, in one left-to-right pass (what
// a reference produces is never decoded again). Go's html.UnescapeString
// agrees with it on named references, whose names never span an '&', so
// each '&'-delimited segment is handed to it; numeric references are
// decoded here because Go differs at the edges: a one-digit reference at
// the very end ("&#47" would stay as is), "&#x;" (Go: U+FFFD, Python: left
// alone) and numbers beyond int32, which Go wraps around (possibly onto
// "/") where Python gives U+FFFD.
func unescapeHTML(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '&')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		if len(s) > 1 && s[1] == '#' {
			r, n := numericRef(s)
			if n == 0 {
				// Not a reference (Python's pattern needs a digit): literal.
				b.WriteByte('&')
				s = s[1:]
				continue
			}
			b.WriteString(r)
			s = s[n:]
			continue
		}
		seg := s
		if j := strings.IndexByte(s[1:], '&'); j >= 0 {
			seg = s[:j+1]
		}
		b.WriteString(html.UnescapeString(seg))
		s = s[len(seg):]
	}
}

// numericRef decodes the numeric character reference at the start of s
// ("&#47;", "&#x2F", the ';' optional) as Python does, and returns its
// text and length; n is 0 when s does not start with one.
func numericRef(s string) (r string, n int) {
	i, base := 2, 10
	if len(s) > 2 && (s[2] == 'x' || s[2] == 'X') {
		i, base = 3, 16
	}
	start := i
	v := 0
	for ; i < len(s); i++ {
		d := hexDigit(s[i])
		if d < 0 || d >= base {
			break
		}
		if v <= 0x10FFFF {
			v = v*base + d // saturates: anything past 0x10FFFF is invalid alike
		}
	}
	if i == start {
		return "", 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	if v > 0x10FFFF {
		return "\uFFFD", i
	}
	// In range, Go's decoding is Python's: U+0000 and surrogates become
	// U+FFFD, 0x80-0x9F follow the Windows-1252 table, and the code points
	// Python drops are all non-printable, removed by the caller anyway.
	return html.UnescapeString("&#" + strconv.Itoa(v) + ";"), i
}

func hexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// isPrintable is Python's str.isprintable for one character: false for the
// Unicode categories Cc, Cf, Cs, Co, Cn (unassigned), Zl, Zp, and Zs other
// than the ASCII space. Every assigned character outside C* and Z* is in
// L, M, N, P or S, so printable is "space, or in one of those".
func isPrintable(r rune) bool {
	if r == ' ' {
		return true
	}
	if r < 0x80 {
		return r > 0x20 && r < 0x7f
	}
	if r == utf8.RuneError {
		// U+FFFD itself is a symbol (So) and printable; invalid bytes were
		// replaced with it above, as Python's errors="replace" does.
		return true
	}
	return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S)
}

// maxNameLen is the longest UploadedFile.name Django keeps, in characters.
const maxNameLen = 255

// truncateName is Django's UploadedFile.name setter length rule: when the
// name is longer than 255 characters, the extension (os.path.splitext) is
// cut to 255 and the root to 255 - len(ext).
func truncateName(name string) string {
	if utf8.RuneCountInString(name) <= maxNameLen {
		return name
	}
	root, ext := splitExt(name)
	ext = firstRunes(ext, maxNameLen)
	return firstRunes(root, maxNameLen-utf8.RuneCountInString(ext)) + ext
}

func firstRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// splitExt is Python's posixpath.splitext: the extension starts at the last
// dot, unless every character before that dot is a dot.
func splitExt(name string) (root, ext string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || strings.Trim(name[:dot], ".") == "" {
		return name, ""
	}
	return name[:dot], name[dot:]
}

// DisplayName turns a client filename into the label Bulwark keeps as
// metadata: Django's sanitisation and 255-character rule, then Unicode NFC
// normalisation so that visually identical names compare equal. It reports
// false when the part carries no usable name. The label must still be
// escaped wherever it is displayed.
func DisplayName(clientName string) (string, bool) {
	name, ok := SanitizeFilename(clientName)
	if !ok {
		return "", false
	}
	name = norm.NFC.String(truncateName(name))
	return name, true
}
