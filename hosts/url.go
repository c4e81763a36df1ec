package hosts

import (
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// ErrHostNotValidated is returned when an absolute URL needs the request's
// host but no hosts Handler validated it. Building a URL from an
// unvalidated Host header is how password-reset poisoning works, so there
// is no fallback.
var ErrHostNotValidated = errors.New("hosts: the request host was not validated (no hosts.Handler in front)")

// ErrInvalidURL is returned for a location that Python's urllib refuses
// (an unbalanced or invalid bracketed IPv6 host), where Django would raise.
var ErrInvalidURL = errors.New("hosts: invalid URL")

// AbsoluteURL returns location as an absolute URL, as Django's
// request.build_absolute_uri(location) does:
//
//   - a location with both a scheme and a host is returned as is (after
//     iri_to_uri); the allow-list is NOT consulted, so this is no guard
//     against open redirects;
//   - an absolute path without "/./" or "/../" segments is appended to
//     scheme://host, one leading "//" removed ("///x" gives scheme://host/x);
//   - anything else is resolved with Python's urljoin semantics against
//     scheme://host followed by the request path (relative paths, "..",
//     query-only "?q=1", and "//other.host/" network-path references).
//
// The scheme is trustedproxy.Scheme(r) and the host is the one validated
// by the hosts Handler (Host); without it, ErrHostNotValidated. The result
// is percent-encoded as Django's iri_to_uri does. An empty location
// resolves to the request URL without its query, as in Django; use
// RequestURL for the request's own URL.
func AbsoluteURL(r *http.Request, location string) (string, error) {
	scheme, netloc, path, _, _, err := urlsplit(location)
	if err != nil {
		return "", err
	}
	if scheme != "" && netloc != "" {
		return iriToURI(location), nil
	}
	host, ok := Host(r)
	if !ok {
		return "", ErrHostNotValidated
	}
	current := trustedproxy.Scheme(r) + "://" + host
	if strings.HasPrefix(path, "/") && scheme == "" && netloc == "" &&
		!strings.Contains(path, "/./") && !strings.Contains(path, "/../") {
		return iriToURI(current + strings.TrimPrefix(location, "//")), nil
	}
	joined, err := urljoin(current+r.URL.Path, location)
	if err != nil {
		return "", err
	}
	return iriToURI(joined), nil
}

// RequestURL returns the absolute URL of r itself, as Django's
// request.build_absolute_uri() (no location) does: scheme://host, the
// escaped path and the query string. A path starting with "//" is kept
// ("//x" gives scheme://host//x), never read as a host. A path with a
// "/./" or "/../" segment is resolved, as Django resolves it ("/a/../b"
// gives scheme://host/b); a trailing "/." or "/.." is kept, as in Django.
func RequestURL(r *http.Request) (string, error) {
	if _, ok := Host(r); !ok {
		return "", ErrHostNotValidated
	}
	full := escapeURIPath(r.URL.Path)
	if r.URL.RawQuery != "" {
		full += "?" + iriToURI(r.URL.RawQuery)
	}
	// Django builds "//" + the full path and hands it to
	// build_absolute_uri(location): the simple branch strips the two
	// slashes again, and a path with dot segments goes through urljoin,
	// which resolves them.
	return AbsoluteURL(r, "//"+full)
}

// The rest of this file transcribes the parts of Python's urllib.parse and
// Django's django.utils.encoding that build_absolute_uri relies on, so that
// URLs come out byte for byte as Django's do.

// schemeChars are the characters urlsplit accepts in a scheme.
func isSchemeChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// urlsplit is Python's urllib.parse.urlsplit(url) (3.12+): leading C0
// controls and spaces are stripped, tabs and newlines removed everywhere.
func urlsplit(url string) (scheme, netloc, path, query, fragment string, err error) {
	i := 0
	for i < len(url) && url[i] <= ' ' {
		i++
	}
	url = url[i:]
	if strings.ContainsAny(url, "\t\r\n") {
		url = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(url)
	}
	if i := strings.IndexByte(url, ':'); i > 0 && (url[0]|0x20 >= 'a' && url[0]|0x20 <= 'z') {
		ok := true
		for j := 0; j < i; j++ {
			if !isSchemeChar(url[j]) {
				ok = false
				break
			}
		}
		if ok {
			scheme, url = strings.ToLower(url[:i]), url[i+1:]
		}
	}
	if strings.HasPrefix(url, "//") {
		end := len(url)
		if j := strings.IndexAny(url[2:], "/?#"); j >= 0 {
			end = j + 2
		}
		netloc, url = url[2:end], url[end:]
		lb, rb := strings.Contains(netloc, "["), strings.Contains(netloc, "]")
		if lb != rb {
			return "", "", "", "", "", ErrInvalidURL
		}
		if lb && !validBracketedNetloc(netloc) {
			return "", "", "", "", "", ErrInvalidURL
		}
	}
	if j := strings.IndexByte(url, '#'); j >= 0 {
		url, fragment = url[:j], url[j+1:]
	}
	if j := strings.IndexByte(url, '?'); j >= 0 {
		url, query = url[:j], url[j+1:]
	}
	return scheme, netloc, url, query, fragment, nil
}

// validBracketedNetloc is Python's _check_bracketed_netloc: the bracketed
// part of the host must be an IPv6 address (or an IPvFuture literal).
func validBracketedNetloc(netloc string) bool {
	host := netloc
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	l, r := strings.IndexByte(host, '['), strings.IndexByte(host, ']')
	if l < 0 || r < l {
		return false
	}
	inner := host[l+1 : r]
	if strings.HasPrefix(inner, "v") || strings.HasPrefix(inner, "V") {
		return len(inner) > 1
	}
	a, err := netip.ParseAddr(inner)
	return err == nil && a.Is6()
}

// usesRelative is Python's urllib.parse.uses_relative.
var usesRelative = map[string]bool{
	"": true, "ftp": true, "http": true, "gopher": true, "nntp": true, "imap": true,
	"wais": true, "file": true, "https": true, "shttp": true, "mms": true,
	"prospero": true, "rtsp": true, "rtsps": true, "rtspu": true, "sftp": true,
	"svn": true, "svn+ssh": true, "ws": true, "wss": true,
}

// usesNetloc is Python's urllib.parse.uses_netloc.
var usesNetloc = map[string]bool{
	"": true, "ftp": true, "http": true, "gopher": true, "nntp": true, "telnet": true,
	"imap": true, "wais": true, "file": true, "mms": true, "https": true, "shttp": true,
	"snews": true, "prospero": true, "rtsp": true, "rtsps": true, "rtspu": true,
	"rsync": true, "svn": true, "svn+ssh": true, "sftp": true, "nfs": true, "git": true,
	"git+ssh": true, "ws": true, "wss": true, "itms-services": true,
}

func urlunsplit(scheme, netloc, path, query, fragment string) string {
	// Python 3.13's urlunsplit.
	switch {
	case netloc != "":
		if path != "" && path[0] != '/' {
			path = "/" + path
		}
		path = "//" + netloc + path
	case strings.HasPrefix(path, "//"):
		path = "//" + path
	case scheme != "" && usesNetloc[scheme] && (path == "" || path[0] == '/'):
		path = "//" + path
	}
	if scheme != "" {
		path = scheme + ":" + path
	}
	if query != "" {
		path += "?" + query
	}
	if fragment != "" {
		path += "#" + fragment
	}
	return path
}

// urljoin is Python's urllib.parse.urljoin(base, url).
func urljoin(base, url string) (string, error) {
	if base == "" {
		return url, nil
	}
	if url == "" {
		return base, nil
	}
	bscheme, bnetloc, bpath, bquery, _, err := urlsplit(base)
	if err != nil {
		return "", err
	}
	scheme, netloc, path, query, fragment, err := urlsplit(url)
	if err != nil {
		return "", err
	}
	if scheme == "" {
		scheme = bscheme
	}
	if scheme != bscheme || !usesRelative[scheme] {
		return url, nil
	}
	if usesNetloc[scheme] {
		if netloc != "" {
			return urlunsplit(scheme, netloc, path, query, fragment), nil
		}
		netloc = bnetloc
	}
	if path == "" {
		if query == "" {
			query = bquery
		}
		return urlunsplit(scheme, netloc, bpath, query, fragment), nil
	}

	baseParts := strings.Split(bpath, "/")
	if baseParts[len(baseParts)-1] != "" {
		// The last segment is not a directory.
		baseParts = baseParts[:len(baseParts)-1]
	}
	var segments []string
	if path[0] == '/' {
		segments = strings.Split(path, "/")
	} else {
		segments = append(baseParts, strings.Split(path, "/")...)
		// Drop empty inner segments, as Python does to avoid redundant
		// slashes when re-joining.
		if len(segments) > 2 {
			kept := segments[:1]
			for _, s := range segments[1 : len(segments)-1] {
				if s != "" {
					kept = append(kept, s)
				}
			}
			segments = append(kept, segments[len(segments)-1])
		}
	}
	resolved := make([]string, 0, len(segments))
	for _, s := range segments {
		switch s {
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}
		case ".":
		default:
			resolved = append(resolved, s)
		}
	}
	if last := segments[len(segments)-1]; last == "." || last == ".." {
		resolved = append(resolved, "")
	}
	p := strings.Join(resolved, "/")
	if p == "" {
		p = "/"
	}
	return urlunsplit(scheme, netloc, p, query, fragment), nil
}

// iriToURI is Django's iri_to_uri: quote(iri, safe="/#%[]=:;$&()+,!?*@'~").
func iriToURI(s string) string { return quote(s, "/#%[]=:;$&()+,!?*@'~") }

// escapeURIPath is Django's escape_uri_path:
// quote(path, safe="/:@&+$,-_.!~*'()").
func escapeURIPath(s string) string { return quote(s, "/:@&+$,-_.!~*'()") }

// quote is Python's urllib.parse.quote on the UTF-8 bytes of s: letters,
// digits, "_.-~" and the safe characters are kept, every other byte is
// percent-encoded with upper-case hex.
func quote(s, safe string) string {
	keep := func(c byte) bool {
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-' || c == '~' || strings.IndexByte(safe, c) >= 0
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keep(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}
