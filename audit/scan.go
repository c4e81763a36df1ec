package audit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ScanOptions configures Scan. The zero value probes the URL with the
// system's roots, no POST probes, and the plain-HTTP redirect on port 80.
type ScanOptions struct {
	// HTTPURL is the plain-HTTP URL probed for the redirect to HTTPS.
	// Empty: the scanned URL itself when it is http, else the same host
	// on port 80 and path "/". It must name the same host.
	HTTPURL string

	// RootCAs verifies the site's certificate. Nil: the system roots.
	RootCAs *x509.CertPool

	// Resolve sends connections for a host to another address, as curl's
	// --resolve: "example.com" → "192.0.2.7" (the port of the URL is
	// kept) or "192.0.2.7:8443". Keys are host names without port.
	Resolve map[string]string

	// PostPaths are the paths on which the CSRF probes are sent: a
	// cross-site POST (which must be refused with 403) and a same-origin
	// one. POSTs may change state, so none is sent unless a path is named.
	PostPaths []string

	// MediaURLs are files on the site's media host (user uploads served
	// from another domain), preferably an HTML file and an SVG: each is
	// fetched once and its type, nosniff, Content-Disposition and
	// sandbox CSP are checked. Their hosts are the only other hosts the
	// scan contacts.
	MediaURLs []string

	// Timeout bounds each request. Zero: 10 seconds.
	Timeout time.Duration

	// Now is the time certificates are checked against. Zero: time.Now.
	Now time.Time
}

// Probe is one request or TLS handshake Scan sent, for the report.
type Probe struct {
	// Kind is "http" for a request, "tls" for a handshake that sent no
	// request (the version, suite and key-exchange probes).
	Kind string `json:"kind"`
	// Name says what the probe checks ("https get", "host header").
	Name string `json:"name"`
	// Method and URL are the request's; for a handshake, Method is empty
	// and URL is "tls://host:port".
	Method string `json:"method,omitempty"`
	URL    string `json:"url"`
	// Status is the response's status, 0 when there was none.
	Status int `json:"status,omitempty"`
	// Location is the redirect target, if any.
	Location string `json:"location,omitempty"`
	// TLS is what a handshake offered and what was negotiated
	// ("TLS 1.0 TLS_RSA_WITH_AES_128_CBC_SHA"), for handshakes.
	TLS string `json:"tls,omitempty"`
	// Error is the transport error, if any (a refused handshake is one).
	Error string `json:"error,omitempty"`
}

// Report is the result of Scan. Its JSON form is versioned and documented
// in docs/scan-json.md (see WriteJSON).
type Report struct {
	// URL is the scanned URL.
	URL string
	// Tool names the program and version that produced the report
	// ("bulwark v1.2.0"); set by the caller, empty otherwise.
	Tool string
	// Start and Duration say when the scan ran and how long it took.
	Start    time.Time
	Duration time.Duration
	// TLSVersion is the negotiated version of the main HTTPS connection
	// ("TLS 1.3"), empty for a plain-HTTP site.
	TLSVersion string
	// Families are the server families the fix texts were chosen for,
	// front server first (nginx, then django); empty when the site
	// showed none, and the generic fix texts are used.
	Families []Family
	// Findings are the problems found, the most severe first, in probe
	// order within a severity.
	Findings []Finding
	// Probes lists every request and handshake sent.
	Probes []Probe
}

// ErrForeignHost is returned (wrapped) for any attempt to connect to a
// host other than the scanned one (or a host of ScanOptions.MediaURLs):
// Scan never contacts anything else, even when a redirect or a link
// points elsewhere.
var ErrForeignHost = errors.New("audit: refusing to contact a host other than the scanned one")

// maxBody bounds how much of a response body is read (for reflection
// checks).
const maxBody = 1 << 20

// Scan probes the site at rawURL from outside, as any client could: the
// HTTP→HTTPS redirect, HSTS and preload eligibility, security headers,
// cookies, host-header injection, CSRF origin handling on opts.PostPaths,
// and TLS versions and certificate. It returns an error only when rawURL
// is unusable or the site cannot be reached at all; everything else is a
// finding.
func Scan(ctx context.Context, rawURL string, opts ScanOptions) (Report, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return Report{}, fmt.Errorf("audit: %q is not an http or https URL", rawURL)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	s := &scanner{
		opts:   opts,
		host:   strings.ToLower(u.Hostname()),
		report: Report{URL: u.String(), Start: time.Now()},
	}
	// Host names match case-insensitively: a key written "Example.com"
	// must not let the scan fall back to the system resolver.
	if len(opts.Resolve) > 0 {
		s.opts.Resolve = make(map[string]string, len(opts.Resolve))
		for h, to := range opts.Resolve {
			s.opts.Resolve[strings.ToLower(h)] = to
		}
	}
	// A POST path that names another host would silently skip its probe,
	// and leave the CSRF handling it was meant to show unchecked.
	for _, p := range opts.PostPaths {
		if t, err := u.Parse("/" + strings.TrimPrefix(p, "/")); err != nil || !strings.EqualFold(t.Hostname(), s.host) {
			return Report{}, fmt.Errorf("audit: POST path %q is not a path on %q", p, s.host)
		}
	}
	for _, m := range opts.MediaURLs {
		mu, err := url.Parse(m)
		if err != nil || (mu.Scheme != "http" && mu.Scheme != "https") || mu.Hostname() == "" || mu.User != nil {
			return Report{}, fmt.Errorf("audit: media URL %q is not an http or https URL", m)
		}
		s.media = append(s.media, mu)
	}
	if s.opts.Timeout == 0 {
		s.opts.Timeout = 10 * time.Second
	}
	if s.opts.Now.IsZero() {
		s.opts.Now = time.Now()
	}
	s.client = s.newClient(false)
	defer func() { s.client.CloseIdleConnections() }()

	httpsURL := u
	if u.Scheme == "http" {
		httpsURL = s.checkRedirect(ctx, u)
		if httpsURL == nil {
			// No redirect: try the default HTTPS port on the same host.
			httpsURL = &url.URL{Scheme: "https", Host: u.Hostname(), Path: u.Path}
			if strings.Contains(u.Hostname(), ":") {
				httpsURL.Host = "[" + u.Hostname() + "]"
			}
		}
	} else {
		hu := opts.HTTPURL
		if hu == "" {
			h := u.Hostname()
			if strings.Contains(h, ":") {
				h = "[" + h + "]"
			}
			hu = "http://" + h + "/"
		}
		pu, err := url.Parse(hu)
		if err != nil || pu.Scheme != "http" || !strings.EqualFold(pu.Hostname(), s.host) {
			return Report{}, fmt.Errorf("audit: HTTP URL %q is not an http URL on host %q", hu, s.host)
		}
		// checkRedirect sets redirectOK only for a first hop straight to
		// HTTPS on the same host: an http→http first hop is not
		// preload-eligible, even though HTTPS is reached in the end.
		s.checkRedirect(ctx, pu)
	}

	resp, chain, body, err := s.getHTTPS(ctx, httpsURL)
	if err != nil {
		if u.Scheme == "http" && len(s.report.Probes) > 0 && s.report.Probes[0].Error == "" {
			s.add(findf("BW226", "%s answered over plain HTTP, and HTTPS failed: %v", u, err))
			return s.finish(), nil
		}
		return Report{}, fmt.Errorf("audit: %s: %w", httpsURL, err)
	}
	s.homeRedirected = len(chain) > 1 || (resp.StatusCode >= 300 && resp.StatusCode <= 399)
	s.checkHSTS(resp, chain)
	s.checkHeaders(resp, body)
	s.checkScripts(httpsURL, resp, body)
	s.checkPlainCookies()
	s.checkCookies(chain)
	s.checkHostInjection(ctx, httpsURL)
	if s.plainURL != nil && !s.httpDown {
		s.checkHostInjection(ctx, s.plainURL)
	}
	s.checkCORS(ctx, httpsURL)
	s.checkForwarded(ctx, httpsURL, body)
	s.checkFraming(ctx, httpsURL)
	s.checkPaths(ctx, httpsURL, resp, body)
	s.checkNonce(ctx, httpsURL, resp)
	for _, m := range s.media {
		s.checkMedia(ctx, m)
	}
	form := formCredentials{token: csrfToken(body), cookies: cookieHeader(chain)}
	for _, p := range opts.PostPaths {
		s.checkCSRF(ctx, httpsURL, p, form)
	}
	s.checkTLS(ctx, httpsURL)
	return s.finish(), nil
}

type scanner struct {
	opts           ScanOptions
	host           string
	client         *http.Client
	report         Report
	verifyErr      error            // the certificate verification error, if any
	insecure       bool             // the client skips verification after BW224
	redirectOK     bool             // plain HTTP redirects to https on the same host
	httpDown       bool             // plain HTTP could not be reached at all
	plainURL       *url.URL         // the plain-HTTP URL probed for the redirect
	plainChain     []*http.Response // the plain-HTTP responses of the redirect
	media          []*url.URL       // opts.MediaURLs, parsed
	homeRedirected bool             // the HTTPS URL itself redirects
	server         string           // the first Server header seen
	cookies        []string         // the names of every cookie set
}

func (s *scanner) add(f Finding) { s.report.Findings = append(s.report.Findings, f) }

// seen notes what a response shows of the site's software: the Server
// header and cookie names choose the fix texts.
func (s *scanner) seen(resp *http.Response) {
	if s.server == "" {
		s.server = resp.Header.Get("Server")
	}
	s.cookies = append(s.cookies, cookieNames(resp)...)
}

func (s *scanner) finish() Report {
	s.report.Duration = time.Since(s.report.Start).Round(time.Millisecond)
	if s.report.Findings == nil {
		s.report.Findings = []Finding{}
	}
	s.report.Families = detectFamilies(s.server, s.cookies)
	for i, f := range s.report.Findings {
		if r, ok := Lookup(f.ID); ok && r.Scope == ScopeScan {
			s.report.Findings[i].Fix = fixFor(r, s.report.Families)
		}
	}
	Sort(s.report.Findings)
	return s.report
}

// dial connects to addr only when its host is the scanned one, through
// opts.Resolve when it names the host.
func (s *scanner) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	host = strings.ToLower(host)
	if host != s.host && !s.mediaHost(host) {
		return nil, fmt.Errorf("%w: %q", ErrForeignHost, host)
	}
	if to, ok := s.opts.Resolve[host]; ok {
		if h, p, err := net.SplitHostPort(to); err == nil {
			host, port = h, p
		} else {
			host = strings.Trim(to, "[]")
		}
	}
	d := net.Dialer{Timeout: s.opts.Timeout}
	return d.DialContext(ctx, network, net.JoinHostPort(host, port))
}

func (s *scanner) tlsConfig(insecure bool) *tls.Config {
	return &tls.Config{
		RootCAs:            s.opts.RootCAs,
		ServerName:         s.host,
		InsecureSkipVerify: insecure,
	}
}

func (s *scanner) newClient(insecure bool) *http.Client {
	// The client speaks every version and suite Go has, so that a legacy
	// site (TLS 1.0 with RSA key exchange only) is scanned, not skipped:
	// what it accepts is reported by the TLS probes.
	tc := s.tlsConfig(insecure)
	tc.MinVersion = tls.VersionTLS10
	for _, cs := range allSuites() {
		tc.CipherSuites = append(tc.CipherSuites, cs.ID)
	}
	return &http.Client{
		Timeout: s.opts.Timeout,
		Transport: &http.Transport{
			Proxy:               nil, // never through environment proxies: only the site is contacted
			DialContext:         s.dial,
			TLSClientConfig:     tc,
			TLSHandshakeTimeout: s.opts.Timeout,
			ForceAttemptHTTP2:   false,
		},
		// Redirects are examined, never followed blindly.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req and records the probe; the body is read (up to maxBody)
// and returned.
func (s *scanner) do(name string, req *http.Request) (*http.Response, []byte, error) {
	p := Probe{Kind: "http", Name: name, Method: req.Method, URL: req.URL.String()}
	resp, err := s.client.Do(req)
	if err != nil {
		p.Error = err.Error()
		s.report.Probes = append(s.report.Probes, p)
		return nil, nil, err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	p.Status = resp.StatusCode
	p.Location = resp.Header.Get("Location")
	s.report.Probes = append(s.report.Probes, p)
	s.seen(resp)
	return resp, body, nil
}

// checkRedirect probes plain HTTP at u and follows redirects on the same
// host. It returns the HTTPS URL reached, or nil when plain HTTP does not
// lead to HTTPS on this host.
func (s *scanner) checkRedirect(ctx context.Context, u *url.URL) *url.URL {
	s.plainURL = u
	cur := u
	viaHTTP := false
	for hop := 0; hop < 10; hop++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cur.String(), nil)
		resp, _, err := s.do("http redirect", req)
		if err == nil {
			s.plainChain = append(s.plainChain, resp)
		}
		if err != nil {
			if hop == 0 {
				s.httpDown = true
				s.add(findf("BW204", "%s: %v", cur, unwrapURLError(err)))
			}
			return nil
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			if resp.StatusCode < 300 {
				f := findf("BW201", "%s answered %d over plain HTTP", cur, resp.StatusCode)
				if hop > 0 {
					f.Message += " (after a redirect)"
				}
				s.add(f)
			}
			return nil
		}
		next, err := cur.Parse(loc)
		if err != nil {
			s.add(findf("BW202", "%s redirects to an invalid Location %q", cur, loc))
			return nil
		}
		if resp.StatusCode != http.StatusMovedPermanently && resp.StatusCode != http.StatusPermanentRedirect {
			s.add(findf("BW203", "%s redirects with %d", cur, resp.StatusCode))
		}
		if !strings.EqualFold(next.Hostname(), s.host) {
			// Never contacted: the scan stays on its host.
			s.add(findf("BW202", "%s redirects to another host: %s", cur, next.Redacted()))
			return nil
		}
		if next.Scheme == "https" {
			if !s.answersTLS(ctx, next) {
				return nil
			}
			if viaHTTP {
				s.add(findf("BW202", "%s reaches HTTPS only after another plain-HTTP redirect", u))
				return next
			}
			s.redirectOK = true
			return next
		}
		if next.Scheme != "http" {
			s.add(findf("BW202", "%s redirects to %q", cur, loc))
			return nil
		}
		viaHTTP = true
		cur = next
	}
	s.add(findf("BW202", "%s: too many redirects", u))
	return nil
}

// answersTLS reports whether the redirect target u completes a TLS
// handshake (BW260 when not): a redirect to the port of a plain-HTTP
// listener is the usual mistake behind a port mapping.
func (s *scanner) answersTLS(ctx context.Context, u *url.URL) bool {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	if _, err := s.handshake(ctx, addr, "redirect target", 0, nil, nil); err != nil {
		var op *net.OpError
		if errors.As(err, &op) && (op.Op == "remote error" || op.Op == "local error") {
			// The target speaks TLS and refused this client's offer (a
			// legacy-only server): the TLS probes report that.
			return true
		}
		s.add(findf("BW260", "the redirect to %s: no TLS on port %s: %v", u.Redacted(), port, err))
		return false
	}
	return true
}

// getHTTPS fetches u, following redirects on the same host; it returns
// the final response and every response of the chain (for cookies and
// the HSTS of redirects). A certificate error is reported (BW224) and the
// scan continues without verification, to report the rest.
func (s *scanner) getHTTPS(ctx context.Context, u *url.URL) (*http.Response, []*http.Response, []byte, error) {
	var chain []*http.Response
	cur := u
	for hop := 0; hop < 5; hop++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, cur.String(), nil)
		resp, body, err := s.do("https get", req)
		if err != nil && hop == 0 && !s.insecure && isCertError(err) {
			s.verifyErr = err
			s.add(findf("BW224", "%s: %v", cur, unwrapURLError(err)))
			s.client.CloseIdleConnections()
			s.client = s.newClient(true)
			s.insecure = true
			hop--
			continue
		}
		if err != nil {
			return nil, chain, nil, err
		}
		if resp.TLS != nil && s.report.TLSVersion == "" {
			s.report.TLSVersion = tls.VersionName(resp.TLS.Version)
		}
		chain = append(chain, resp)
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return resp, chain, body, nil
		}
		next, err := cur.Parse(loc)
		if err == nil && next.Scheme == "http" {
			// A downgrade: whatever the next hop serves crosses the
			// network in clear (and strips the HSTS protection of
			// clients that never saw the header).
			s.add(findf("BW202", "%s redirects back to plain HTTP: %s", cur, next.Redacted()))
		}
		if err != nil || next.Scheme != "https" || !strings.EqualFold(next.Hostname(), s.host) {
			return resp, chain, body, nil // the headers of the redirect itself are what this host serves
		}
		cur = next
	}
	return chain[len(chain)-1], chain, nil, nil
}

func isCertError(err error) bool {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ce x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	return errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ce) || errors.As(err, &ve)
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// hsts is a parsed Strict-Transport-Security header (RFC 6797 §6.1).
type hsts struct {
	maxAge            int64
	includeSubDomains bool
	preload           bool
}

// parseHSTS parses the first Strict-Transport-Security header as a
// browser does: directives separated by ";", names case-insensitive,
// max-age required (digits, optionally quoted), no directive repeated.
func parseHSTS(v string) (hsts, error) {
	var h hsts
	seen := map[string]bool{}
	hasMaxAge := false
	for _, part := range strings.Split(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, hasVal := strings.Cut(part, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return h, fmt.Errorf("directive %q repeated", name)
		}
		seen[name] = true
		switch name {
		case "max-age":
			val = strings.Trim(strings.TrimSpace(val), `"`)
			n, err := strconv.ParseInt(val, 10, 64)
			if !hasVal || err != nil || n < 0 || strings.TrimLeft(val, "0123456789") != "" {
				return h, fmt.Errorf("invalid max-age %q", val)
			}
			h.maxAge, hasMaxAge = n, true
		case "includesubdomains":
			h.includeSubDomains = true
		case "preload":
			h.preload = true
		}
	}
	if !hasMaxAge {
		return h, errors.New("no max-age")
	}
	return h, nil
}

const yearSeconds = 31536000

func (s *scanner) checkHSTS(resp *http.Response, chain []*http.Response) {
	v := resp.Header.Get("Strict-Transport-Security")
	if v == "" {
		s.add(find("BW205", "no Strict-Transport-Security header on "+resp.Request.URL.String()))
		return
	}
	h, err := parseHSTS(v)
	if err != nil {
		s.add(findf("BW205", "Strict-Transport-Security %q is invalid: %v", v, err))
		return
	}
	if h.maxAge == 0 {
		s.add(findf("BW205", "Strict-Transport-Security %q clears the policy (max-age=0)", v))
		return
	}
	if h.maxAge < yearSeconds {
		s.add(findf("BW206", "max-age is %d seconds (%s)", h.maxAge, time.Duration(h.maxAge)*time.Second))
	}
	if !h.includeSubDomains {
		s.add(findf("BW207", "Strict-Transport-Security %q has no includeSubDomains", v))
	}
	// hstspreload.org's submission rules.
	var why []string
	if reg := registrable(s.host); reg == "" {
		why = append(why, fmt.Sprintf("%q is not a registered domain name", s.host))
	} else if reg != s.host {
		why = append(why, fmt.Sprintf("only registrable domains are listed (%q, not %q)", reg, s.host))
	}
	// The list requires the redirect only from a server listening on
	// port 80.
	if !s.redirectOK && !s.httpDown {
		why = append(why, "plain HTTP does not redirect to HTTPS on the same host first")
	}
	if h.maxAge < yearSeconds {
		why = append(why, "max-age is below 31536000")
	}
	if !h.includeSubDomains {
		why = append(why, "includeSubDomains is missing")
	}
	if !h.preload {
		why = append(why, "the preload directive is missing")
	}
	for _, r := range chain[:len(chain)-1] {
		if r.Header.Get("Strict-Transport-Security") == "" {
			why = append(why, fmt.Sprintf("the HTTPS redirect at %s carries no HSTS header", r.Request.URL))
			break
		}
	}
	if len(why) > 0 {
		s.add(find("BW208", strings.Join(why, "; ")))
	}
}

// Referrer policies (the Referrer Policy spec's tokens) and which of them
// send the full URL to other origins.
var (
	referrerTokens = map[string]bool{
		"no-referrer": true, "no-referrer-when-downgrade": true, "origin": true,
		"origin-when-cross-origin": true, "same-origin": true, "strict-origin": true,
		"strict-origin-when-cross-origin": true, "unsafe-url": true,
	}
	coopTokens = map[string]bool{"same-origin": true, "same-origin-allow-popups": true, "unsafe-none": true, "noopener-allow-popups": true}
)

func (s *scanner) checkHeaders(resp *http.Response, body []byte) {
	h := resp.Header
	if !strings.EqualFold(strings.TrimSpace(h.Get("X-Content-Type-Options")), "nosniff") {
		s.add(find("BW209", describe(h, "X-Content-Type-Options")))
	}
	csp := strings.Join(h.Values("Content-Security-Policy"), ", ")
	xfo := strings.ToUpper(strings.TrimSpace(h.Get("X-Frame-Options")))
	if xfo != "DENY" && xfo != "SAMEORIGIN" && !framingRestricted(h.Values("Content-Security-Policy")) {
		s.add(find("BW210", describe(h, "X-Frame-Options")+" and no restrictive CSP frame-ancestors directive"))
	}
	// Browsers apply the last token they recognise.
	rp := h.Values("Referrer-Policy")
	effective := ""
	for _, v := range rp {
		for _, t := range strings.Split(v, ",") {
			if t = strings.ToLower(strings.TrimSpace(t)); referrerTokens[t] {
				effective = t
			}
		}
	}
	switch {
	case len(rp) == 0:
		s.add(find("BW211", "no Referrer-Policy header"))
	case effective == "":
		s.add(findf("BW211", "Referrer-Policy %q has no valid policy", strings.Join(rp, ", ")))
	case effective == "unsafe-url" || effective == "no-referrer-when-downgrade":
		s.add(findf("BW211", "Referrer-Policy is %q", effective))
	}
	if coop := strings.ToLower(strings.TrimSpace(h.Get("Cross-Origin-Opener-Policy"))); !coopTokens[coop] || coop == "unsafe-none" {
		s.add(find("BW212", describe(h, "Cross-Origin-Opener-Policy")))
	}
	if csp == "" {
		// Calibrated on the Observatory, which takes 25 points from an
		// HTML site without a CSP (grade B at best): a warning on an HTML
		// page, information on anything else (an API answering JSON).
		f := find("BW213", "no Content-Security-Policy header on an HTML page (report-only policies do not protect)")
		if !isHTML(resp, body) {
			f.Severity = Info
			f.Message = fmt.Sprintf("no Content-Security-Policy header (the response is %q, not HTML)", resp.Header.Get("Content-Type"))
		}
		s.add(f)
		return
	}
	// Each header is a separate policy and all must allow a script; a
	// weakness matters only if every policy has it, so report on the
	// first policy's script sources (the common single-policy case) and
	// when a second policy restricts scripts, stay silent.
	policies := h.Values("Content-Security-Policy")
	var msgs []string
	for _, pol := range policies {
		srcs, ok := cspScriptSources(pol)
		if !ok {
			msgs = append(msgs, "no script-src or default-src: scripts from any origin run")
			continue
		}
		inline, weak := cspWeakness(srcs)
		if inline == "" && weak == "" {
			msgs = nil
			break
		}
		if inline != "" {
			msgs = append(msgs, "script sources include "+inline)
		}
		if weak != "" {
			msgs = append(msgs, "script sources include "+weak)
		}
	}
	if len(msgs) > 0 {
		s.add(find("BW214", strings.Join(msgs, "; ")))
	}
}

// describe says what the response has for header name: "no X header" or
// its (quoted) value.
func describe(h http.Header, name string) string {
	if v := h.Values(name); len(v) > 0 {
		return fmt.Sprintf("%s is %q", name, strings.Join(v, ", "))
	}
	return "no " + name + " header"
}

// framingRestricted reports whether one of the policies (all of which a
// browser enforces) has a frame-ancestors directive that does not let any
// site frame the page: no "*" and no scheme-only source ("https:"). The
// directive is read as a browser reads it, by name and first occurrence;
// the words "frame-ancestors" elsewhere (a report-uri path) count for
// nothing.
func framingRestricted(policies []string) bool {
	for _, pol := range policies {
		for _, pol := range strings.Split(pol, ",") {
			srcs, ok := cspDirective(pol, "frame-ancestors")
			if ok && !slices.ContainsFunc(srcs, func(src string) bool {
				return src == "*" || strings.HasSuffix(src, ":")
			}) {
				return true
			}
		}
	}
	return false
}

// cspDirective returns the sources of the first directive called name in
// a serialized policy.
func cspDirective(policy, name string) ([]string, bool) {
	for _, d := range strings.Split(policy, ";") {
		if f := strings.Fields(d); len(f) > 0 && strings.EqualFold(f[0], name) {
			return f[1:], true
		}
	}
	return nil, false
}

// cspScriptSources returns the sources of script-src, else default-src,
// from a serialized policy.
func cspScriptSources(policy string) ([]string, bool) {
	if srcs, ok := cspDirective(policy, "script-src"); ok {
		return srcs, true
	}
	return cspDirective(policy, "default-src")
}

// sessionLike reports whether a cookie name looks like it carries a
// session or credentials (and so must be HttpOnly). CSRF cookies are not:
// scripts legitimately read them.
func sessionLike(name string) bool {
	n := strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(name, "__Host-"), "__Secure-"))
	if strings.Contains(n, "csrf") || strings.Contains(n, "xsrf") {
		return false
	}
	for _, k := range []string{"sess", "sid", "auth", "login", "remember", "jwt", "token"} {
		if strings.Contains(n, k) {
			return true
		}
	}
	return false
}

func (s *scanner) checkCookies(chain []*http.Response) {
	seen := map[string]bool{}
	for _, r := range chain {
		for _, line := range r.Header.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil || seen[c.Name] {
				continue
			}
			seen[c.Name] = true
			if c.MaxAge < 0 {
				continue // a deletion
			}
			if !c.Secure {
				f := findf("BW215", "cookie %q is not Secure", c.Name)
				f.Key = "Set-Cookie: " + c.Name
				s.add(f)
			}
			if sessionLike(c.Name) && !c.HttpOnly {
				f := findf("BW216", "cookie %q is not HttpOnly", c.Name)
				f.Key = "Set-Cookie: " + c.Name
				s.add(f)
			}
			switch c.SameSite {
			case 0, http.SameSiteDefaultMode: // absent, or without a value
				f := findf("BW217", "cookie %q has no SameSite attribute", c.Name)
				f.Key = "Set-Cookie: " + c.Name
				s.add(f)
			case http.SameSiteNoneMode:
				f := findf("BW217", "cookie %q is SameSite=None", c.Name)
				f.Key = "Set-Cookie: " + c.Name
				s.add(f)
			}
			if sessionLike(c.Name) && !strings.HasPrefix(c.Name, "__Host-") {
				f := findf("BW218", "cookie %q has no __Host- prefix", c.Name)
				f.Key = "Set-Cookie: " + c.Name
				s.add(f)
			}
		}
	}
}

// evilHost is the foreign host of the injection probes (RFC 2606).
const evilHost = "evil.example"

func reflected(resp *http.Response, body []byte) bool {
	if strings.Contains(strings.ToLower(resp.Header.Get("Location")), evilHost) {
		return true
	}
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.Contains(strings.ToLower(line), evilHost) {
			return true
		}
	}
	return strings.Contains(strings.ToLower(string(body)), evilHost)
}

func refused(status int) bool {
	// 400 is the refusal of an unknown Host; 421 (Misdirected Request) is
	// what a server that routes by SNI answers.
	return status == http.StatusBadRequest || status == http.StatusMisdirectedRequest
}

// formCredentials are what a page gives a browser to post its form: the
// CSRF token of its hidden field and the cookies set on the way.
type formCredentials struct {
	token   string
	cookies string
}

// csrfToken returns the value of the first csrfmiddlewaretoken field of an
// HTML page (the field name Django and package csrf use), or "".
func csrfToken(body []byte) string {
	const field = "csrfmiddlewaretoken"
	page := string(body)
	i := strings.Index(page, field)
	if i < 0 {
		return ""
	}
	// Within the same tag: from the tag's start to its end.
	start := strings.LastIndexByte(page[:i], '<')
	end := strings.IndexByte(page[i:], '>')
	if start < 0 || end < 0 {
		return ""
	}
	tag := page[start : i+end]
	j := strings.Index(tag, `value="`)
	if j < 0 {
		return ""
	}
	v := tag[j+len(`value="`):]
	k := strings.IndexByte(v, '"')
	if k < 0 {
		return ""
	}
	return v[:k]
}

// cookieHeader builds the Cookie header a browser would send back after
// the responses of chain.
func cookieHeader(chain []*http.Response) string {
	var parts []string
	seen := map[string]bool{}
	for _, r := range chain {
		for _, c := range r.Cookies() {
			if seen[c.Name] || c.MaxAge < 0 {
				continue
			}
			seen[c.Name] = true
			parts = append(parts, (&http.Cookie{Name: c.Name, Value: c.Value}).String())
		}
	}
	return strings.Join(parts, "; ")
}

// checkCSRF posts to path twice, as a browser would: once from a foreign
// site (Origin https://evil.example, Sec-Fetch-Site: cross-site), which
// must be refused with 403, and once from the site's own origin, which
// must not be. Both carry the page's token and cookies when it has them,
// so the cross-site refusal is shown to come from the origin check, not
// from a missing token.
func (s *scanner) checkCSRF(ctx context.Context, u *url.URL, path string, form formCredentials) {
	// Scan has checked that every path resolves to a URL on the host.
	target, _ := u.Parse("/" + strings.TrimPrefix(path, "/"))
	origin := u.Scheme + "://" + u.Host
	body := "bulwark_scan=1"
	if form.token != "" {
		body = "csrfmiddlewaretoken=" + url.QueryEscape(form.token) + "&" + body
	}
	post := func(name, from, site string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", from)
		req.Header.Set("Referer", from+"/")
		req.Header.Set("Sec-Fetch-Site", site)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("Sec-Fetch-Dest", "document")
		if form.cookies != "" {
			req.Header.Set("Cookie", form.cookies)
		}
		resp, _, err := s.do(name, req)
		return resp, err
	}
	if resp, err := post("csrf cross-site post", "https://"+evilHost, "cross-site"); err == nil && resp.StatusCode != http.StatusForbidden {
		f := findf("BW221", "POST %s from Origin https://%s (Sec-Fetch-Site: cross-site) was answered %d", target.Path, evilHost, resp.StatusCode)
		f.Key = "POST " + target.Path
		s.add(f)
	}
	if resp, err := post("csrf same-origin post", origin, "same-origin"); err == nil && resp.StatusCode == http.StatusForbidden {
		id, how := "BW222", "without a token (the page has no csrfmiddlewaretoken field)"
		if form.token != "" {
			id, how = "BW227", "with the page's token and cookies"
		}
		f := findf(id, "POST %s from its own origin %s was refused with 403", target.Path, how)
		f.Key = "POST " + target.Path
		s.add(f)
	}
}
