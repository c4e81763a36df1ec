package audit

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The behaviour probes. Each is a read-only GET (or a malformed GET that
// a server must refuse), bounded in number, sent only to the scanned
// host (and the media URLs named by the operator):
//
//  1. foreign Host, absolute-form target and X-Forwarded-Host, on the
//     HTTPS and the plain-HTTP port (3+3 requests);
//  2. CORS: Origin https://evil.example, then Origin null (2);
//  3. X-Forwarded-Proto: http on HTTPS and https on plain HTTP, and
//     X-Forwarded-For with a documentation address (3);
//  4. framing: two Host headers, two Content-Type headers, and
//     Content-Length with Transfer-Encoding: chunked whose body is a
//     complete empty chunked body, so that whichever length a server
//     believes, no second request is ever smuggled (3, one connection
//     each);
//  5. the security headers of up to three links of the home page and of
//     a page that does not exist (4);
//  6. the home page again, to compare CSP nonces (1);
//  7. each media URL (one each).

// maxPathSamples bounds the links of the home page probe 5 follows.
const maxPathSamples = 3

// isHTML reports whether a response is an HTML page, by its type or, with
// none, by its start.
func isHTML(resp *http.Response, body []byte) bool {
	if t, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		return t == "text/html" || t == "application/xhtml+xml"
	}
	return strings.Contains(strings.ToLower(http.DetectContentType(body)), "html")
}

// mediaHost reports whether host is one of the media URLs' hosts.
func (s *scanner) mediaHost(host string) bool {
	return slices.ContainsFunc(s.media, func(u *url.URL) bool { return strings.EqualFold(u.Hostname(), host) })
}

// checkPlainCookies reports cookies set on plain-HTTP responses (the
// redirect hops): whatever their attributes, they crossed the network in
// clear.
func (s *scanner) checkPlainCookies() {
	seen := map[string]bool{}
	for _, r := range s.plainChain {
		for _, line := range r.Header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil || seen[c.Name] || c.MaxAge < 0 {
				continue
			}
			seen[c.Name] = true
			f := findf("BW234", "cookie %q is set by the plain-HTTP response of %s", c.Name, r.Request.URL)
			f.Key = "Set-Cookie: " + c.Name
			s.add(f)
		}
	}
}

// judgeForeignHost reports how a request for evilHost was answered:
// refused (400, 421) is right; a redirect that does not name the foreign
// host, or an empty answer, serves nothing (BW235, info); content is
// BW219; the foreign host anywhere in the answer is BW220.
func (s *scanner) judgeForeignHost(resp *http.Response, body []byte, key, what string) {
	if refused(resp.StatusCode) {
		return
	}
	isRedirect := resp.StatusCode >= 300 && resp.StatusCode <= 399
	refl := reflected(resp, body)
	switch {
	case isRedirect:
		// A redirect serves no content: one to the site's own host uses
		// nothing of the foreign host, one to the foreign host is BW220
		// below.
	case len(strings.TrimSpace(string(body))) == 0 && !refl:
		f := findf("BW235", "%s was answered %d with an empty body", what, resp.StatusCode)
		f.Key = key
		s.add(f)
	default:
		f := findf("BW219", "%s was answered %d", what, resp.StatusCode)
		f.Key = key
		s.add(f)
	}
	if refl {
		f := findf("BW220", "%s: %s is reflected in the response", what, evilHost)
		f.Key = key
		s.add(f)
	}
}

func (s *scanner) checkHostInjection(ctx context.Context, u *url.URL) {
	port := " on " + u.Scheme
	// A foreign Host header.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Host = evilHost
	if resp, body, err := s.do("host header"+port, req); err == nil {
		s.judgeForeignHost(resp, body, "Host", fmt.Sprintf("GET %s with Host: %s%s", u.Path, evilHost, port))
	}

	// An absolute-form request target naming a foreign host, with the
	// real Host header: the target's authority wins (RFC 9112 §3.2.2).
	target := u.Scheme + "://" + evilHost + u.EscapedPath()
	head := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: bulwark-scan\r\nConnection: close\r\n\r\n", target, u.Host)
	if resp, body, _, err := s.raw(ctx, u, "absolute-form target"+port, target, head); err == nil {
		s.judgeForeignHost(resp, body, "request-target", fmt.Sprintf("GET %s (absolute form)%s", target, port))
	}

	// X-Forwarded-Host from a client that is no proxy must be ignored.
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("X-Forwarded-Host", evilHost)
	if resp, body, err := s.do("x-forwarded-host"+port, req); err == nil && reflected(resp, body) {
		f := findf("BW220", "X-Forwarded-Host: %s from a direct client is reflected in the response%s", evilHost, port)
		f.Key = "X-Forwarded-Host"
		s.add(f)
	}
}

// raw sends head (a whole request, written as is) on a connection of its
// own to u's host and port, and reads one response. closed says whether
// the server closed the connection after it (or announced it would).
func (s *scanner) raw(ctx context.Context, u *url.URL, name, shown, head string) (resp *http.Response, body []byte, closed bool, err error) {
	p := Probe{Kind: "http", Name: name, Method: http.MethodGet, URL: shown}
	defer func() {
		if err != nil {
			p.Error = err.Error()
		} else {
			p.Status, p.Location = resp.StatusCode, resp.Header.Get("Location")
		}
		s.report.Probes = append(s.report.Probes, p)
	}()
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	conn, err := s.dial(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, nil, false, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c := conn
	if u.Scheme == "https" {
		tc := tls.Client(conn, s.tlsConfig(true)) // verification is the main probe's job
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, false, err
		}
		c = tc
	}
	if _, err := io.WriteString(c, head); err != nil {
		return nil, nil, false, err
	}
	br := bufio.NewReader(c)
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, false, err
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	closed = resp.Close
	if !closed {
		// An open connection answers nothing more: wait briefly for EOF.
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, rerr := br.ReadByte()
		var ne net.Error
		closed = rerr != nil && !(errors.As(rerr, &ne) && ne.Timeout()) && !errors.Is(rerr, os.ErrDeadlineExceeded)
	}
	return resp, body, closed, nil
}

// checkCORS sends a foreign and a null Origin and reports a site that
// lets them read its responses.
func (s *scanner) checkCORS(ctx context.Context, u *url.URL) {
	for _, origin := range []string{"https://" + evilHost, "null"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		req.Header.Set("Origin", origin)
		resp, _, err := s.do("cors origin "+origin, req)
		if err != nil {
			continue
		}
		acao := strings.TrimSpace(resp.Header.Get("Access-Control-Allow-Origin"))
		creds := strings.EqualFold(strings.TrimSpace(resp.Header.Get("Access-Control-Allow-Credentials")), "true")
		if acao != origin {
			continue // "*" cannot carry credentials; another origin is a list
		}
		id := "BW238"
		switch {
		case creds && origin == "null":
			id = "BW237"
		case creds:
			id = "BW236"
		case origin == "null":
			continue
		}
		f := findf(id, "Origin: %s was answered Access-Control-Allow-Origin: %s%s", origin, acao, map[bool]string{true: " with Access-Control-Allow-Credentials: true"}[creds])
		s.add(f)
	}
}

// xffProbe is the client address claimed in X-Forwarded-For (RFC 5737
// documentation range: never a real client).
const xffProbe = "203.0.113.77"

// checkForwarded tells whether the site believes forwarded headers from a
// direct client: a plain-HTTP request claiming X-Forwarded-Proto: https
// that is served where the same request without it was redirected; an
// HTTPS request claiming http that is redirected or gets http:// links;
// an X-Forwarded-For address that comes back in the body.
func (s *scanner) checkForwarded(ctx context.Context, u *url.URL, home []byte) {
	if s.plainURL != nil && s.redirectOK {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.plainURL.String(), nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		if resp, _, err := s.do("x-forwarded-proto https on http", req); err == nil && resp.StatusCode < 300 {
			s.add(findf("BW239", "plain-HTTP GET %s with X-Forwarded-Proto: https was answered %d instead of redirected", s.plainURL.Path, resp.StatusCode))
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	if resp, body, err := s.do("x-forwarded-proto http on https", req); err == nil {
		plainLink := "http://" + strings.ToLower(u.Host)
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode <= 399 && resp.Header.Get("Location") != "" && !s.homeRedirected:
			s.add(findf("BW239", "HTTPS GET %s with X-Forwarded-Proto: http was redirected (%d to %s): the site believes the claimed scheme", u.Path, resp.StatusCode, resp.Header.Get("Location")))
		case strings.Contains(strings.ToLower(string(body)), plainLink) && !strings.Contains(strings.ToLower(string(home)), plainLink):
			s.add(findf("BW239", "HTTPS GET %s with X-Forwarded-Proto: http links to %s", u.Path, plainLink))
		}
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("X-Forwarded-For", xffProbe)
	if _, body, err := s.do("x-forwarded-for", req); err == nil && strings.Contains(string(body), xffProbe) && !strings.Contains(string(home), xffProbe) {
		s.add(findf("BW240", "X-Forwarded-For: %s from a direct client is reflected in the response", xffProbe))
	}
}

// checkFraming sends requests whose framing is ambiguous; none carries a
// body a server could read as a second request.
func (s *scanner) checkFraming(ctx context.Context, u *url.URL) {
	path := u.EscapedPath()
	if resp, _, _, err := s.raw(ctx, u, "duplicate host", u.String(),
		"GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\nHost: "+evilHost+"\r\nConnection: close\r\n\r\n"); err == nil && resp.StatusCode != http.StatusBadRequest {
		s.add(findf("BW241", "GET %s with Host: %s and Host: %s was answered %d", path, u.Host, evilHost, resp.StatusCode))
	}
	if resp, _, _, err := s.raw(ctx, u, "duplicate content-type", u.String(),
		"GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\nContent-Type: text/plain\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"); err == nil && resp.StatusCode < 400 {
		s.add(findf("BW242", "GET %s with two Content-Type headers was answered %d", path, resp.StatusCode))
	}
	// The body is "0\r\n\r\n", five bytes: a complete chunked body and
	// exactly Content-Length. Whichever the server believes, the
	// connection ends at the same byte, and nothing follows it.
	resp, _, closed, err := s.raw(ctx, u, "content-length with transfer-encoding", u.String(),
		"GET "+path+" HTTP/1.1\r\nHost: "+u.Host+"\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
	if err == nil && resp.StatusCode != http.StatusBadRequest && !closed {
		s.add(findf("BW243", "GET %s with Content-Length and Transfer-Encoding: chunked was answered %d and the connection stayed open", path, resp.StatusCode))
	}
}

// hrefRE finds link targets in a page.
var hrefRE = regexp.MustCompile(`(?i)<a\s[^>]*href\s*=\s*["']([^"'#]+)`)

// samplePaths returns up to n paths on the site linked from a page,
// other than base's.
func samplePaths(base *url.URL, body []byte, n int) []string {
	var out []string
	for _, m := range hrefRE.FindAllSubmatch(body, -1) {
		t, err := base.Parse(string(m[1]))
		if err != nil || t.Scheme != base.Scheme || !strings.EqualFold(t.Host, base.Host) {
			continue
		}
		p := t.EscapedPath()
		// A path starting "//" would read as another host when resolved
		// again ("./ /x" resolves to "//x").
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || p == base.EscapedPath() || slices.Contains(out, p) {
			continue
		}
		if out = append(out, p); len(out) == n {
			break
		}
	}
	return out
}

// securityHeaders are the headers compared across paths, by what they
// protect (framing counts X-Frame-Options or frame-ancestors).
func securityHeaders(h http.Header) map[string]bool {
	return map[string]bool{
		"Strict-Transport-Security": h.Get("Strict-Transport-Security") != "",
		"X-Content-Type-Options":    h.Get("X-Content-Type-Options") != "",
		"X-Frame-Options":           h.Get("X-Frame-Options") != "" || framingRestricted(h.Values("Content-Security-Policy")),
		"Content-Security-Policy":   h.Get("Content-Security-Policy") != "",
		"Referrer-Policy":           h.Get("Referrer-Policy") != "",
	}
}

// checkPaths compares the security headers of a few linked pages and of a
// missing page with the home page's.
func (s *scanner) checkPaths(ctx context.Context, u *url.URL, home *http.Response, body []byte) {
	want := securityHeaders(home.Header)
	paths := samplePaths(u, body, maxPathSamples)
	paths = append(paths, "/.well-known/bulwark-scan-missing-page")
	for _, p := range paths {
		t, err := u.Parse(p)
		if err != nil || t.Host != u.Host {
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, t.String(), nil)
		resp, _, err := s.do("headers by path", req)
		if err != nil {
			continue
		}
		got := securityHeaders(resp.Header)
		var missing []string
		for _, name := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
			if want[name] && !got[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			f := findf("BW244", "%s (%d) lacks %s, which %s sends", t.Path, resp.StatusCode, strings.Join(missing, ", "), u.Path)
			f.Key = t.Path
			s.add(f)
		}
	}
}

var nonceRE = regexp.MustCompile(`'nonce-([^']+)'`)

// checkNonce fetches the page again and compares the CSP nonces.
func (s *scanner) checkNonce(ctx context.Context, u *url.URL, first *http.Response) {
	n1 := nonceRE.FindStringSubmatch(strings.Join(first.Header.Values("Content-Security-Policy"), ", "))
	if n1 == nil {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	resp, _, err := s.do("csp nonce", req)
	if err != nil {
		return
	}
	n2 := nonceRE.FindStringSubmatch(strings.Join(resp.Header.Values("Content-Security-Policy"), ", "))
	if n2 != nil && n1[1] == n2[1] {
		s.add(findf("BW245", "two GET %s carried the same nonce %q", u.Path, n1[1]))
	}
}

// activeType reports whether a media type is one a browser renders as an
// active document (scripts may run in it).
func activeType(t string) bool {
	switch t {
	case "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml":
		return true
	}
	return false
}

// checkMedia fetches a file of the media host and checks that it cannot
// run as a document of that origin.
func (s *scanner) checkMedia(ctx context.Context, m *url.URL) {
	client := &http.Client{
		Timeout: s.opts.Timeout,
		Transport: &http.Transport{
			Proxy:           nil,
			DialContext:     s.dial,
			TLSClientConfig: &tls.Config{RootCAs: s.opts.RootCAs},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.String(), nil)
	p := Probe{Kind: "http", Name: "media file", Method: http.MethodGet, URL: m.String()}
	resp, err := client.Do(req)
	if err != nil {
		p.Error = err.Error()
		s.report.Probes = append(s.report.Probes, p)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	p.Status, p.Location = resp.StatusCode, resp.Header.Get("Location")
	s.report.Probes = append(s.report.Probes, p)
	if resp.StatusCode != http.StatusOK {
		return
	}
	key := "media " + m.Redacted()
	if !strings.EqualFold(strings.TrimSpace(resp.Header.Get("X-Content-Type-Options")), "nosniff") {
		f := findf("BW247", "%s: %s", m.Redacted(), describe(resp.Header, "X-Content-Type-Options"))
		f.Key = key
		s.add(f)
	}
	ct := resp.Header.Get("Content-Type")
	t, _, _ := mime.ParseMediaType(ct)
	if ct == "" {
		t, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	if !activeType(t) {
		return
	}
	disp, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	sandboxed := false
	for _, pol := range resp.Header.Values("Content-Security-Policy") {
		if _, ok := cspDirective(pol, "sandbox"); ok {
			sandboxed = true
		}
	}
	if disp != "attachment" && !sandboxed {
		f := findf("BW246", "%s is served as %q inline, with no sandbox CSP", m.Redacted(), t)
		f.Key = key
		s.add(f)
	}
}

// scriptTagRE finds script elements with a src attribute, and their
// attributes.
var (
	scriptTagRE = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	srcAttrRE   = regexp.MustCompile(`(?is)\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))`)
	integrityRE = regexp.MustCompile(`(?is)\bintegrity\s*=`)
)

// checkScripts reports the page's scripts that another party can change:
// loaded over plain HTTP (BW248), or from another origin without
// Subresource Integrity (BW249), as the Observatory's SRI test does.
func (s *scanner) checkScripts(u *url.URL, resp *http.Response, body []byte) {
	if !isHTML(resp, body) {
		return
	}
	var plain, noSRI []string
	for _, m := range scriptTagRE.FindAllSubmatch(body, -1) {
		attrs := m[1]
		sm := srcAttrRE.FindSubmatch(attrs)
		if sm == nil {
			continue
		}
		src := string(sm[1]) + string(sm[2]) + string(sm[3])
		t, err := resp.Request.URL.Parse(strings.TrimSpace(src))
		if err != nil {
			continue
		}
		switch {
		case t.Scheme == "http":
			if !slices.Contains(plain, t.Redacted()) {
				plain = append(plain, t.Redacted())
			}
		case t.Scheme == "https" && !strings.EqualFold(t.Host, u.Host) && !integrityRE.Match(attrs):
			if !slices.Contains(noSRI, t.Redacted()) {
				noSRI = append(noSRI, t.Redacted())
			}
		}
	}
	if len(plain) > 0 {
		s.add(findf("BW248", "%s loads %s", u.Path, strings.Join(plain, ", ")))
	}
	if len(noSRI) > 0 {
		s.add(findf("BW249", "%s loads %s without integrity", u.Path, strings.Join(noSRI, ", ")))
	}
}
