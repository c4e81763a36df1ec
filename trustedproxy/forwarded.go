package trustedproxy

import (
	"net/netip"
	"strings"
)

// This file reads the RFC 7239 Forwarded header:
//
//	Forwarded         = 1#forwarded-element
//	forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] )
//	forwarded-pair    = token "=" value
//	value             = token / quoted-string
//
// Bulwark accepts the strict subset proxies emit and refuses the rest:
// every element has at least one pair, pairs are not empty, a parameter
// occurs at most once per element, optional whitespace is allowed only
// around "," and ";" (not around "="), and quoted strings hold printable
// ASCII only. Element boundaries inside a header that does not parse are
// ambiguous (a quoted string may hold a comma), so the whole chain is
// refused, never read in part.

// nodeKind classifies a for= or by= node.
type nodeKind uint8

const (
	nodeUnknown    nodeKind = iota // "unknown", or no for= parameter at all
	nodeObfuscated                 // "_hidden" identifiers
	nodeAddr                       // an IP address
)

// fwdElem is one parsed element, as substrings of the header value.
type fwdElem struct {
	forKind  nodeKind
	forAddr  netip.Addr
	forRaw   string
	byRaw    string
	proto    string
	host     string
	hasFor   bool
	hasBy    bool
	hasProto bool
	hasHost  bool
}

// maxPairs bounds the parameters of one element: four are defined, and a
// proxy adding more than a few extensions is not one we know.
const maxPairs = 8

// fwdParser yields the elements of one Forwarded header line.
type fwdParser struct {
	s string
	i int
	// ext, when not nil, receives the extension parameters of each
	// element (ParseForwarded); the Resolver leaves it nil.
	ext *[][2]string
}

func (p *fwdParser) done() bool { return p.i >= len(p.s) }

func (p *fwdParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// next parses the next element. The caller checks done() first; an empty
// line or an empty element is an error.
func (p *fwdParser) next() (fwdElem, *MalformedError) {
	var e fwdElem
	var names [maxPairs]string
	pairs := 0
	p.skipOWS()
	for {
		start := p.i
		for p.i < len(p.s) && isTchar(p.s[p.i]) {
			p.i++
		}
		name := p.s[start:p.i]
		if name == "" {
			if p.i >= len(p.s) || p.s[p.i] == ',' {
				return e, malformed(HeaderForwarded, ReasonEmpty, p.s)
			}
			return e, malformed(HeaderForwarded, ReasonSyntax, p.s)
		}
		if p.i >= len(p.s) || p.s[p.i] != '=' {
			return e, malformed(HeaderForwarded, ReasonSyntax, p.s)
		}
		p.i++
		value, err := p.value()
		if err != nil {
			return e, err
		}
		if pairs == maxPairs {
			return e, malformed(HeaderForwarded, ReasonSyntax, p.s)
		}
		for _, n := range names[:pairs] {
			if strings.EqualFold(n, name) {
				// RFC 7239 section 4: a parameter MUST NOT occur more
				// than once per element. Which copy would a downstream
				// reader take?
				return e, malformed(HeaderForwarded, ReasonDuplicateParameter, name)
			}
		}
		names[pairs] = name
		pairs++
		known, err := e.set(name, value)
		if err != nil {
			return e, err
		}
		if !known && p.ext != nil {
			*p.ext = append(*p.ext, [2]string{name, value})
		}
		p.skipOWS()
		if p.i >= len(p.s) {
			return e, nil
		}
		switch p.s[p.i] {
		case ';':
			p.i++
			p.skipOWS()
		case ',':
			p.i++
			p.skipOWS()
			if p.i >= len(p.s) {
				// A trailing comma is an empty last element.
				return e, malformed(HeaderForwarded, ReasonEmpty, p.s)
			}
			return e, nil
		default:
			return e, malformed(HeaderForwarded, ReasonSyntax, p.s)
		}
	}
}

// value reads a token or a quoted-string and returns its content.
func (p *fwdParser) value() (string, *MalformedError) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		p.i++
		start := p.i
		escaped := false
		for p.i < len(p.s) {
			c := p.s[p.i]
			switch {
			case c == '"':
				v := p.s[start:p.i]
				p.i++
				if escaped {
					v = unescape(v)
				}
				return v, nil
			case c == '\\':
				// quoted-pair: "\" followed by HTAB, SP or VCHAR.
				if p.i+1 >= len(p.s) || !(p.s[p.i+1] == '\t' || p.s[p.i+1] >= 0x20 && p.s[p.i+1] <= 0x7e) {
					return "", malformed(HeaderForwarded, ReasonSyntax, p.s)
				}
				escaped = true
				p.i += 2
			case c == '\t' || c >= 0x20 && c <= 0x7e:
				p.i++
			default:
				// Control bytes and obs-text (non-ASCII) are refused.
				return "", malformed(HeaderForwarded, ReasonSyntax, p.s)
			}
		}
		return "", malformed(HeaderForwarded, ReasonSyntax, p.s)
	}
	start := p.i
	for p.i < len(p.s) && isTchar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", malformed(HeaderForwarded, ReasonSyntax, p.s)
	}
	return p.s[start:p.i], nil
}

func unescape(v string) string {
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// set records one parameter and reports whether it is one of RFC 7239's
// four. Names are case-insensitive (duplicates were refused by the caller);
// extension parameters are accepted and ignored.
func (e *fwdElem) set(name, value string) (bool, *MalformedError) {
	switch {
	case strings.EqualFold(name, "for"):
		k, a, err := parseNode(value)
		if err != nil {
			return true, err
		}
		e.hasFor, e.forRaw, e.forKind, e.forAddr = true, value, k, a
	case strings.EqualFold(name, "by"):
		if _, _, err := parseNode(value); err != nil {
			return true, err
		}
		e.hasBy, e.byRaw = true, value
	case strings.EqualFold(name, "proto"):
		if !isScheme(value) {
			return true, malformed(HeaderForwarded, ReasonInvalidProto, value)
		}
		e.hasProto, e.proto = true, value
	case strings.EqualFold(name, "host"):
		if value == "" {
			// A present but empty host would replace the Host header with
			// nothing; treat it as the error it is.
			return true, malformed(HeaderForwarded, ReasonEmpty, "host")
		}
		// Otherwise passed on verbatim; package hosts validates it.
		e.hasHost, e.host = true, value
	default:
		return false, nil
	}
	return true, nil
}

// parseNode parses an RFC 7239 node:
//
//	node     = nodename [ ":" node-port ]
//	nodename = IPv4address / "[" IPv6address "]" / "unknown" / obfnode
//	obfnode  = "_" 1*( ALPHA / DIGIT / "." / "_" / "-")
//	node-port = port / obfport ; port = 1*5DIGIT ; obfport = "_" 1*(...)
//
// IPv4-mapped addresses are unmapped; zones are refused.
func parseNode(v string) (nodeKind, netip.Addr, *MalformedError) {
	name, port := v, ""
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 {
			return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
		}
		name, port = v[1:end], v[end+1:]
		if port != "" {
			if port[0] != ':' {
				return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
			}
			port = port[1:]
			if port == "" {
				return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
			}
		}
		if strings.IndexByte(name, '%') >= 0 {
			return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonZone, v)
		}
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is6() {
			return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
		}
		if !validNodePort(port) {
			return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
		}
		return nodeAddr, a.Unmap(), nil
	}
	if i := strings.IndexByte(v, ':'); i >= 0 {
		name, port = v[:i], v[i+1:]
		if port == "" {
			return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
		}
	}
	if !validNodePort(port) {
		return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
	}
	switch {
	case strings.EqualFold(name, "unknown"):
		return nodeUnknown, netip.Addr{}, nil
	case isObfuscated(name):
		return nodeObfuscated, netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(name)
	if err != nil || !a.Is4() {
		// A bare IPv6 address is not a node: RFC 7239 requires brackets
		// (and thus quotes), which keeps its colons from reading as a port.
		return 0, netip.Addr{}, malformed(HeaderForwarded, ReasonInvalidNode, v)
	}
	return nodeAddr, a, nil
}

func validNodePort(p string) bool {
	if p == "" {
		return true
	}
	if p[0] == '_' {
		return isObfuscated(p)
	}
	if len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

func isObfuscated(s string) bool {
	if len(s) < 2 || s[0] != '_' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isScheme reports whether s is an RFC 3986 scheme.
func isScheme(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// ForwardedElement is one element of an RFC 7239 Forwarded header. The
// values are as sent, unquoted; empty means the parameter was absent.
// Extension parameters are not kept.
type ForwardedElement struct {
	For   string // the node the request came from, e.g. "192.0.2.1", "[2001:db8::1]:4711", "_hidden", "unknown"
	By    string // the node of the proxy that received it
	Host  string // the Host the proxy received
	Proto string // the scheme the proxy received the request with
	// Extensions are the other parameters, in order, as name and value;
	// nil when there are none.
	Extensions [][2]string
}

// ParseForwarded parses the lines of a Forwarded header (as from
// r.Header.Values("Forwarded")), in order, with the same strict rules and
// limits (MaxHops, MaxHeaderBytes) the Resolver applies. The error is a
// *MalformedError. It allocates; the Resolver does not use it.
func ParseForwarded(lines []string) ([]ForwardedElement, error) {
	if err := checkSize(HeaderForwarded, lines); err != nil {
		return nil, err
	}
	var out []ForwardedElement
	for _, line := range lines {
		var ext [][2]string
		p := fwdParser{s: line, ext: &ext}
		if p.skipOWS(); p.done() {
			return nil, malformed(HeaderForwarded, ReasonEmpty, line)
		}
		for !p.done() {
			ext = nil
			e, err := p.next()
			if err != nil {
				return nil, err
			}
			if len(out) == MaxHops {
				return nil, malformed(HeaderForwarded, ReasonTooManyHops, "")
			}
			out = append(out, ForwardedElement{For: e.forRaw, By: e.byRaw, Host: e.host, Proto: e.proto, Extensions: ext})
		}
	}
	return out, nil
}

// String serialises e as a Forwarded element, quoting values that are not
// tokens. An element with no parameter serialises as "" (which does not
// parse).
func (e ForwardedElement) String() string {
	var b strings.Builder
	pairs := append([][2]string{{"for", e.For}, {"by", e.By}, {"host", e.Host}, {"proto", e.Proto}}, e.Extensions...)
	for i, kv := range pairs {
		if kv[1] == "" && i < 4 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		writeValue(&b, kv[1])
	}
	return b.String()
}

func writeValue(b *strings.Builder, v string) {
	token := v != ""
	for i := 0; i < len(v); i++ {
		if !isTchar(v[i]) {
			token = false
			break
		}
	}
	if token {
		b.WriteString(v)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
}

// checkSize enforces MaxHeaderBytes over all lines of a header.
func checkSize(header string, lines []string) *MalformedError {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	if n > MaxHeaderBytes {
		return malformed(header, ReasonTooLong, "")
	}
	return nil
}
