package csrf

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/percent"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// checkReferer is Django's strict Referer check (d.6), run only for HTTPS
// requests that carry neither Origin nor Sec-Fetch-Site, that is from
// browsers too old for either, with the token layer on or
// RefererWithoutTokens set. It keeps
// Django's semantics exactly, including its string comparisons, so that
// Django's vectors apply: the Referer's netloc (with any port and user
// info, not lower-cased) must be the host, a subdomain of the cookie's
// domain, or a trusted origin's host (whatever its scheme).
func (p *Protection) checkReferer(r *http.Request, f *trustedproxy.Facts) *Error {
	vals, ok := r.Header["Referer"]
	if !ok || len(vals) == 0 {
		return &Error{Reason: reasonNoReferer, Err: ErrReferer}
	}
	u, ok := urlsplit(vals[0])
	if !ok || u.scheme == "" || u.netloc == "" {
		return &Error{Reason: reasonMalformedReferer, Err: ErrReferer}
	}
	// An http Referer on an https request: a page served over plain HTTP,
	// which a network attacker may have written.
	if u.scheme != "https" {
		return &Error{Reason: reasonInsecureReferer, Err: ErrReferer}
	}
	for _, h := range p.refererHosts {
		if hosts.IsSameDomain(u.netloc, h) {
			return nil
		}
	}
	var good string
	domain := p.cfg.CookieDomain
	if p.cfg.UseSessions {
		domain = p.sessionDomain
	}
	if domain == "" {
		good = factHost(r)
		if good == "" {
			return errBadReferer(u)
		}
	} else {
		good = domain
		if port := f.Port; port != "" && port != "443" && port != "80" {
			good += ":" + port
		}
	}
	if !hosts.IsSameDomain(u.netloc, good) {
		return errBadReferer(u)
	}
	return nil
}

// splitURL is the part of Python's urllib.parse.SplitResult that Django's
// Referer check reads.
type splitURL struct {
	scheme, netloc, path, query, fragment string
	hasQuery, hasFragment                 bool
}

// String is Python's geturl(): the URL re-serialised from its parts, with
// the scheme lower-cased and an empty query or fragment dropped.
func (u splitURL) String() string {
	var b strings.Builder
	if u.scheme != "" {
		b.WriteString(u.scheme)
		b.WriteByte(':')
	}
	if u.netloc != "" {
		b.WriteString("//")
		b.WriteString(u.netloc)
		if u.path != "" && u.path[0] != '/' {
			b.WriteByte('/')
		}
	}
	b.WriteString(u.path)
	if u.query != "" {
		b.WriteByte('?')
		b.WriteString(u.query)
	}
	if u.fragment != "" {
		b.WriteByte('#')
		b.WriteString(u.fragment)
	}
	return b.String()
}

// urlsplit is Python 3.13's urllib.parse.urlsplit, as far as Django's
// Referer check depends on it: leading C0 controls and spaces stripped, tab
// and newline bytes removed, a scheme recognised and lower-cased, the
// netloc split off after "//", and ok == false where Python raises
// ValueError (unbalanced brackets, or a bracketed host that is not an IPv6
// address or a valid IPvFuture literal, or text before the bracket).
func urlsplit(s string) (u splitURL, ok bool) {
	for s != "" && s[0] <= ' ' {
		s = s[1:]
	}
	if strings.ContainsAny(s, "\t\r\n") {
		s = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(s)
	}
	if i := strings.IndexByte(s, ':'); i > 0 && isAlpha(s[0]) {
		valid := true
		for j := 0; j < i; j++ {
			c := s[j]
			if !(isAlpha(c) || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
				valid = false
				break
			}
		}
		if valid {
			u.scheme, s = strings.ToLower(s[:i]), s[i+1:]
		}
	}
	if strings.HasPrefix(s, "//") {
		rest := s[2:]
		end := len(rest)
		if k := strings.IndexAny(rest, "/?#"); k >= 0 {
			end = k
		}
		u.netloc, s = rest[:end], rest[end:]
		open, closing := strings.Contains(u.netloc, "["), strings.Contains(u.netloc, "]")
		if open != closing {
			return splitURL{}, false
		}
		if open && !checkBracketedNetloc(u.netloc) {
			return splitURL{}, false
		}
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, u.fragment, u.hasFragment = s[:i], s[i+1:], true
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, u.query, u.hasQuery = s[:i], s[i+1:], true
	}
	u.path = s
	return u, true
}

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// checkBracketedNetloc is Python's _check_bracketed_netloc and
// _check_bracketed_host.
func checkBracketedNetloc(netloc string) bool {
	hostport := netloc
	if i := strings.LastIndexByte(netloc, '@'); i >= 0 {
		hostport = netloc[i+1:]
	}
	before, bracketed, found := strings.Cut(hostport, "[")
	var host string
	if found {
		if before != "" {
			return false
		}
		var port string
		host, port, _ = strings.Cut(bracketed, "]")
		if port != "" && port[0] != ':' {
			return false
		}
	} else {
		host, _, _ = strings.Cut(hostport, ":")
	}
	if strings.HasPrefix(host, "v") {
		// \Av[a-fA-F0-9]+\..+\z
		i := 1
		for i < len(host) && percent.IsHex(host[i]) {
			i++
		}
		return i > 1 && i < len(host)-1 && host[i] == '.'
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is6()
}
