package httpsonly

import "strings"

// buildLocation returns "https://" + host + the escaped path (+ "?" + the
// escaped query when non-empty), as Django's
// "https://" + host + request.get_full_path(). ok is false when the result
// would exceed Django's MAX_URL_REDIRECT_LENGTH.
//
// The path is escaped as escape_uri_path does and the query as iri_to_uri
// does. Both escape every control character, space, backslash and non-ASCII
// byte, so no request can smuggle CR/LF into the Location header or make a
// browser read the path as a new authority (a backslash is an authority
// separator to WHATWG URL parsers). The path always starts with "/", so the
// host is always followed by "/" and a path like "//evil.com" stays a path
// of the configured host.
func buildLocation(host, path, query string) (string, bool) {
	n := len("https://") + len(host) + escapedLen(path, pathSafe)
	if len(path) == 0 || path[0] != '/' {
		n++
	}
	if query != "" {
		n += 1 + escapedLen(query, querySafe)
	}
	if n > maxLocation {
		return "", false
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString("https://")
	b.WriteString(host)
	if len(path) == 0 || path[0] != '/' {
		b.WriteByte('/')
	}
	writeEscaped(&b, path, pathSafe)
	if query != "" {
		b.WriteByte('?')
		writeEscaped(&b, query, querySafe)
	}
	return b.String(), true
}

// byteSet is a 256-bit set of bytes left unescaped.
type byteSet [4]uint64

func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

func makeSet(extra string) byteSet {
	var s byteSet
	add := func(c byte) { s[c>>6] |= 1 << (c & 63) }
	for c := byte('a'); c <= 'z'; c++ {
		add(c)
	}
	for c := byte('A'); c <= 'Z'; c++ {
		add(c)
	}
	for c := byte('0'); c <= '9'; c++ {
		add(c)
	}
	for i := 0; i < len(extra); i++ {
		add(extra[i])
	}
	return s
}

var (
	// escape_uri_path: quote(path, safe="/:@&+$,-_.!~*'()").
	pathSafe = makeSet("_.-~" + "/:@&+$,!*'()")
	// iri_to_uri: quote(iri, safe="/#%[]=:;$&()+,!?*@'~"); '%' is kept so
	// existing escapes survive.
	querySafe = makeSet("_.-~" + "/#%[]=:;$&()+,!?*@'")
)

func escapedLen(s string, safe byteSet) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if !safe.has(s[i]) {
			n += 2
		}
	}
	return n
}

const upperhex = "0123456789ABCDEF"

func writeEscaped(b *strings.Builder, s string, safe byteSet) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe.has(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
}
