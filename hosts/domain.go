package hosts

import "strings"

// SplitDomainPort splits a Host header value into its lower-cased domain
// (without one trailing dot) and its port, as Django's split_domain_port
// does. It returns ("", "") when host is not syntactically valid:
//
//	domain = [a-z0-9.-]+  |  "[" [a-f0-9]* ":" [a-f0-9.:]+ "]"
//	host   = domain [ ":" [0-9]+ ]
//
// after lower-casing. Underscores, non-ASCII, user info, paths, spaces, an
// empty port, IPv6 without brackets and zone identifiers are all invalid.
// Port digits are not range-checked (Django does not); callers that use the
// port for anything but display must check it.
func SplitDomainPort(host string) (domain, port string) {
	// Find the domain/port boundary first, on the raw bytes, so the common
	// already-lower-case case needs no allocation.
	d, p, ok := splitRaw(host)
	if !ok {
		return "", ""
	}
	return strings.TrimSuffix(lower(d), "."), p
}

// splitRaw validates host against Django's pattern (case-insensitively) and
// returns the domain and port parts as substrings of host.
func splitRaw(host string) (domain, port string, ok bool) {
	if host == "" {
		return "", "", false
	}
	rest := host
	if host[0] == '[' {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return "", "", false
		}
		inner := host[1:end]
		// [a-f0-9]*:[a-f0-9.:]+ : at least one colon, and at least one
		// character after the first colon.
		colon := strings.IndexByte(inner, ':')
		if colon < 0 || colon == len(inner)-1 {
			return "", "", false
		}
		for i := 0; i < len(inner); i++ {
			c := inner[i] | 0x20 // ASCII lower-case, for letters only
			switch {
			case inner[i] >= '0' && inner[i] <= '9', c >= 'a' && c <= 'f':
			case inner[i] == ':':
			case inner[i] == '.' && i > colon:
			default:
				return "", "", false
			}
		}
		domain, rest = host[:end+1], host[end+1:]
	} else {
		i := 0
		for ; i < len(host); i++ {
			c := host[i] | 0x20
			if !(c >= 'a' && c <= 'z' || host[i] >= '0' && host[i] <= '9' || host[i] == '.' || host[i] == '-') {
				break
			}
		}
		if i == 0 {
			return "", "", false
		}
		domain, rest = host[:i], host[i:]
	}
	if rest == "" {
		return domain, "", true
	}
	if rest[0] != ':' || len(rest) == 1 {
		return "", "", false
	}
	for i := 1; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return "", "", false
		}
	}
	return domain, rest[1:], true
}

// IsSameDomain reports whether host matches pattern, as Django's
// is_same_domain does: a pattern starting with "." matches the domain itself
// and any subdomain at any depth (on a dot boundary); any other pattern must
// match exactly. The pattern is compared case-insensitively; host must
// already be lower-cased by the caller (SplitDomainPort does it). An empty
// pattern matches nothing.
func IsSameDomain(host, pattern string) bool {
	if pattern == "" {
		return false
	}
	if pattern[0] == '.' {
		return hasSuffixFold(host, pattern) || equalFoldLower(pattern[1:], host)
	}
	return equalFoldLower(pattern, host)
}

// lower returns s lower-cased (ASCII), without allocating when s has no
// upper-case letters. Non-ASCII bytes cannot reach it: splitRaw refuses them.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

func hasSuffixFold(host, suffix string) bool {
	return len(host) >= len(suffix) && equalFoldLower(suffix, host[len(host)-len(suffix):])
}
