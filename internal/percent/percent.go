// Package percent decodes %XX escapes the lenient way Python's
// urllib.parse.unquote does (errors="replace"): valid escapes decode,
// anything else is kept as it is, never an error. Package limits (form
// fields, Django's QueryDict) and package upload (RFC 2231 and
// percent-encoded part parameters) share it.
package percent

import "strings"

// IsHex reports whether c is a hexadecimal digit, in either case.
func IsHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Unhex returns the value of the hexadecimal digit c (IsHex(c) must hold).
func Unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// Decode decodes the valid %XX escapes of s and keeps every other byte,
// a "%" without two hexadecimal digits after it included; with plus, a
// "+" is a space (unquote_plus). The result may not be UTF-8: callers
// decide how to repair it.
func Decode(s string, plus bool) string {
	if strings.IndexByte(s, '%') < 0 && (!plus || strings.IndexByte(s, '+') < 0) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plus:
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && IsHex(s[i+1]) && IsHex(s[i+2]):
			b = append(b, Unhex(s[i+1])<<4|Unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
