package csrf_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/refusal"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// The conformance tests replay the vectors recorded from Django's
// CsrfViewMiddleware (tests/csrf_tests) against Protection. Each vector is
// interpreted from its data: Django settings become a Config, the request
// (WSGI environ, cookies, form, headers) becomes an *http.Request with the
// request facts that trustedproxy and hosts would establish, and the
// expected outcome is compared field by field.
//
// Cookie names: a vector's stored secret is "the cookie named
// CSRF_COOKIE_NAME". Bulwark sends and reads that cookie as
// "__Host-<name>" over HTTPS, so the harness stores the secret under
// Protection.CookieName(r), the name a browser would hold it under.

type djangoVector struct {
	ID       string                     `json:"id"`
	Mode     string                     `json:"mode"`
	Settings map[string]json.RawMessage `json:"settings"`
	Request  map[string]json.RawMessage `json:"request"`
	View     string                     `json:"view"`
	Expected map[string]json.RawMessage `json:"expected"`
	Function string                     `json:"function"`
}

type djangoFile struct {
	Vectors  []djangoVector `json:"vectors"`
	Sections []struct {
		Name    string            `json:"name"`
		Vectors []json.RawMessage `json:"vectors"`
	} `json:"sections"`
}

func (f *djangoFile) middleware(t *testing.T) []djangoVector {
	out := slices.Clone(f.Vectors)
	for _, s := range f.Sections {
		if s.Name != "middleware" {
			continue
		}
		for _, raw := range s.Vectors {
			var v djangoVector
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatalf("section %s: %v", s.Name, err)
			}
			out = append(out, v)
		}
	}
	return out
}

func TestDjangoCSRFOrigin(t *testing.T) {
	var f djangoFile
	vectors.Load(t, "csrf_origin.json", &f)
	runDjangoFile(t, "csrf_origin.json", f.middleware(t))
}

func TestDjangoCSRFTokens(t *testing.T) {
	var f djangoFile
	vectors.Load(t, "csrf_tokens.json", &f)
	runDjangoFile(t, "csrf_tokens.json", f.middleware(t))
}

// TestDjangoCSRFFunctions replays the vectors of Django's token functions
// (CsrfFunctionTests): the cipher, the format check, the comparison, and
// get_token / rotate_token through a Protection.
func TestDjangoCSRFFunctions(t *testing.T) {
	var f struct {
		Sections []struct {
			Name    string `json:"name"`
			Vectors []struct {
				ID       string          `json:"id"`
				Function string          `json:"function"`
				Input    json.RawMessage `json:"input"`
				Expected json.RawMessage `json:"expected"`
			} `json:"vectors"`
		} `json:"sections"`
	}
	vectors.Load(t, "csrf_tokens.json", &f)
	dev := vectors.Deviations(t, "csrf_tokens.json")
	n := 0
	for _, s := range f.Sections {
		if s.Name != "functions" {
			continue
		}
		for i, v := range s.Vectors {
			id := v.ID
			if id == "" {
				id = fmt.Sprintf("functions:%s:%d", v.Function, i)
			}
			n++
			vectors.Check(t, "csrf_tokens.json", id, dev, func() error { return runDjangoFunction(v.Function, v.Input, v.Expected) })
		}
	}
	vectors.Count(t, "csrf_tokens.json functions", n)
}

func runDjangoFunction(fn string, input, expected json.RawMessage) error {
	switch fn {
	case "unmask":
		var in, want string
		_ = json.Unmarshal(input, &in)
		_ = json.Unmarshal(expected, &want)
		if got := csrf.Unmask(in); got != want {
			return fmt.Errorf("unmask(%q) = %q, want %q", in, got, want)
		}
	case "mask_roundtrip":
		var in string
		var want struct {
			Length  int    `json:"length"`
			Charset string `json:"charset"`
			Round   string `json:"unmask(mask(input))"`
		}
		_ = json.Unmarshal(input, &in)
		_ = json.Unmarshal(expected, &want)
		m := csrf.Mask(in)
		if len(m) != want.Length || csrf.CheckFormat(m) != "" || csrf.Unmask(m) != want.Round {
			return fmt.Errorf("mask(%q) = %q (unmasks to %q), want length %d over %s unmasking to %q", in, m, csrf.Unmask(m), want.Length, want.Charset, want.Round)
		}
	case "check_token_format":
		var in, want string
		_ = json.Unmarshal(input, &in)
		_ = json.Unmarshal(expected, &want)
		got := map[string]string{"": "valid", "length": "has incorrect length", "chars": "has invalid characters"}[csrf.CheckFormat(in)]
		if got != want {
			return fmt.Errorf("format of %q: %q, want %q", in, got, want)
		}
	case "does_token_match":
		var in struct{ Token, Secret string }
		var want bool
		_ = json.Unmarshal(input, &in)
		_ = json.Unmarshal(expected, &want)
		if got := csrf.DoesTokenMatch(in.Token, in.Secret); got != want {
			return fmt.Errorf("match(%q, %q) = %v, want %v", in.Token, in.Secret, got, want)
		}
	case "get_token", "rotate_token":
		var in struct {
			Stored *string `json:"stored_secret"`
		}
		var want map[string]any
		_ = json.Unmarshal(input, &in)
		_ = json.Unmarshal(expected, &want)
		p, err := csrf.New(csrf.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		var tok string
		var rotateErr error
		h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if fn == "rotate_token" {
				rotateErr = csrf.Rotate(r)
				return
			}
			tok = csrf.Token(r)
		}))
		r := httptest.NewRequest("GET", "http://testserver/", nil)
		if in.Stored != nil {
			r.Header.Set("Cookie", p.CookieName(r)+"="+*in.Stored)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if rotateErr != nil {
			return rotateErr
		}
		var sent string
		for _, c := range w.Result().Cookies() {
			sent = c.Value
		}
		var problems []string
		for k, v := range want {
			switch k {
			case "returns":
				if len(tok) != csrf.TokenLength || csrf.CheckFormat(tok) != "" || csrf.Unmask(tok) != sent {
					problems = append(problems, fmt.Sprintf("token %q does not unmask to the secret sent (%q)", tok, sent))
				}
				if in.Stored != nil && csrf.Unmask(tok) != *in.Stored {
					problems = append(problems, fmt.Sprintf("token %q does not unmask to the stored secret", tok))
				}
			case "stored_secret_unchanged":
				if v == true && (in.Stored == nil || sent != *in.Stored) {
					problems = append(problems, fmt.Sprintf("secret sent %q, want the stored one unchanged", sent))
				}
			case "cookie_needs_update":
				if (sent != "") != (v == true) {
					problems = append(problems, fmt.Sprintf("cookie sent = %v, want %v", sent != "", v))
				}
			case "new_secret_length":
				if float64(len(sent)) != v {
					problems = append(problems, fmt.Sprintf("new secret %q, want length %v", sent, v))
				}
			case "new_secret_differs":
				if v == true && in.Stored != nil && sent == *in.Stored {
					problems = append(problems, "rotated secret equals the old one")
				}
			default:
				problems = append(problems, fmt.Sprintf("expected field %s is not interpreted by this harness", k))
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
	default:
		return fmt.Errorf("function %q is not interpreted by this harness", fn)
	}
	return nil
}

func TestDjangoCSRFReferer(t *testing.T) {
	var f djangoFile
	if !vectors.LoadOptional(t, "csrf_referer.json", &f) {
		t.Logf("csrf_referer.json is kept back: set %s to a directory holding it to replay it", vectors.EnvDir)
		return
	}
	runDjangoFile(t, "csrf_referer.json", f.middleware(t))
}

func runDjangoFile(t *testing.T, file string, vs []djangoVector) {
	dev := vectors.Deviations(t, file)
	n := 0
	for _, v := range vs {
		n++
		vectors.Check(t, file, v.ID, dev, func() error { return runDjangoVector(v) })
	}
	vectors.Count(t, file, n)
}

// djangoSettings is the subset of Django settings the CSRF vectors use;
// an unknown setting fails the vector rather than being ignored.
type djangoSettings struct {
	allowedHosts    []string
	allowedHostsSet bool
	debug           bool
	trusted         []string
	cookieName      string
	cookieDomain    string
	cookieAge       *int
	cookieAgeNone   bool
	cookiePath      string
	cookieSecure    bool
	cookieHTTPOnly  bool
	cookieSameSite  string
	headerMeta      string
	useSessions     bool
	sessionDomain   string
	xForwardedHost  bool
	xForwardedPort  bool
	proxySSLHeader  []string
	sameSiteOmitted bool
}

func parseSettings(m map[string]json.RawMessage) (djangoSettings, error) {
	var s djangoSettings
	for k, raw := range m {
		var err error
		switch k {
		case "ALLOWED_HOSTS":
			err = json.Unmarshal(raw, &s.allowedHosts)
			s.allowedHostsSet = true
		case "DEBUG":
			err = json.Unmarshal(raw, &s.debug)
		case "CSRF_TRUSTED_ORIGINS":
			err = json.Unmarshal(raw, &s.trusted)
		case "CSRF_COOKIE_NAME":
			err = json.Unmarshal(raw, &s.cookieName)
		case "CSRF_COOKIE_DOMAIN":
			var d *string
			err = json.Unmarshal(raw, &d)
			if d != nil {
				s.cookieDomain = *d
			}
		case "CSRF_COOKIE_AGE":
			err = json.Unmarshal(raw, &s.cookieAge)
			s.cookieAgeNone = s.cookieAge == nil
		case "CSRF_COOKIE_PATH":
			err = json.Unmarshal(raw, &s.cookiePath)
		case "CSRF_COOKIE_SECURE":
			err = json.Unmarshal(raw, &s.cookieSecure)
		case "CSRF_COOKIE_HTTPONLY":
			err = json.Unmarshal(raw, &s.cookieHTTPOnly)
		case "CSRF_COOKIE_SAMESITE":
			var v any
			err = json.Unmarshal(raw, &v)
			switch v := v.(type) {
			case string:
				s.cookieSameSite = v
			case bool, nil:
				s.sameSiteOmitted = true
			}
		case "CSRF_HEADER_NAME":
			err = json.Unmarshal(raw, &s.headerMeta)
		case "CSRF_USE_SESSIONS":
			err = json.Unmarshal(raw, &s.useSessions)
		case "SESSION_COOKIE_DOMAIN":
			var d *string
			err = json.Unmarshal(raw, &d)
			if d != nil {
				s.sessionDomain = *d
			}
		case "USE_X_FORWARDED_HOST":
			err = json.Unmarshal(raw, &s.xForwardedHost)
		case "USE_X_FORWARDED_PORT":
			err = json.Unmarshal(raw, &s.xForwardedPort)
		case "SECURE_PROXY_SSL_HEADER":
			err = json.Unmarshal(raw, &s.proxySSLHeader)
		default:
			return s, fmt.Errorf("setting %s is not interpreted by this harness", k)
		}
		if err != nil {
			return s, fmt.Errorf("setting %s: %v", k, err)
		}
	}
	return s, nil
}

// metaToHeader turns a WSGI META key (HTTP_X_CSRFTOKEN) into a header name
// (X-CSRFTOKEN; header names are case-insensitive).
func metaToHeader(meta string) string {
	return strings.ReplaceAll(strings.TrimPrefix(meta, "HTTP_"), "_", "-")
}

// testSessions is a SessionSecrets keeping one value, as a session would.
type testSessions struct {
	mu     sync.Mutex
	value  string
	writes int
	domain string
}

func (s *testSessions) CSRFSecret(*http.Request) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value, nil
}

func (s *testSessions) SetCSRFSecret(_ *http.Request, v string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.value = v
	s.writes++
	return nil
}

func (s *testSessions) CookieDomain() string { return s.domain }

// logCapture records csrf events.
type logCapture struct {
	mu     sync.Mutex
	events []map[string]string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message, "level": r.Level.String()}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	c.mu.Lock()
	c.events = append(c.events, m)
	c.mu.Unlock()
	return nil
}
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCapture) WithGroup(string) slog.Handler      { return c }

func (c *logCapture) find(event string) []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]string
	for _, e := range c.events {
		if e["event"] == event {
			out = append(out, e)
		}
	}
	return out
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("client went away") }

func runDjangoVector(v djangoVector) error {
	s, err := parseSettings(v.Settings)
	if err != nil {
		return err
	}
	if v.Mode == "session" {
		s.useSessions = true
	}
	logs := &logCapture{}
	sessions := &testSessions{domain: s.sessionDomain}
	// Django's failure view receives the reason; Bulwark's failure handler
	// reads it with FailureError. The default handler then answers.
	// With DEBUG, Config.Development's page states the reason.
	var failure *csrf.Error
	page := csrf.FailurePage(s.debug)
	cfg := csrf.Config{
		FailureHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			failure = csrf.FailureError(r)
			page.ServeHTTP(w, r)
		}),
		TrustedOrigins: s.trusted,
		CookieName:     s.cookieName,
		CookieDomain:   s.cookieDomain,
		CookiePath:     s.cookiePath,
		CookieSecure:   s.cookieSecure,
		CookieHTTPOnly: s.cookieHTTPOnly,
		CookieSameSite: s.cookieSameSite,
		UseSessions:    s.useSessions,
		Logger:         slog.New(logs),
	}
	if s.useSessions {
		cfg.Sessions = sessions
	}
	if s.cookieAge != nil {
		cfg.CookieMaxAge = time.Duration(*s.cookieAge) * time.Second
	}
	if s.cookieAgeNone {
		cfg.CookieMaxAge = -1
	}
	if s.headerMeta != "" {
		cfg.HeaderName = metaToHeader(s.headerMeta)
	}
	if s.sameSiteOmitted {
		return errors.New("CSRF_COOKIE_SAMESITE=False (no attribute) is not offered")
	}
	p, err := csrf.New(cfg)
	if err != nil {
		return fmt.Errorf("config refused: %v", err)
	}

	// The request.
	method := "GET"
	scheme := "http"
	headers := map[string]string{}
	var secret *string
	var postToken, headerToken *string
	tokenMeta := s.headerMeta
	if tokenMeta == "" {
		tokenMeta = "HTTP_X_CSRFTOKEN"
	}
	unreadable := false
	serverPort, serverName := "", ""
	reqPath := "/"
	for k, raw := range v.Request {
		var err error
		switch k {
		case "method":
			err = json.Unmarshal(raw, &method)
		case "scheme":
			err = json.Unmarshal(raw, &scheme)
		case "headers":
			err = json.Unmarshal(raw, &headers)
		case "csrf_secret":
			err = json.Unmarshal(raw, &secret)
		case "csrf_secret_repeat":
			var rep []any
			if err = json.Unmarshal(raw, &rep); err == nil && len(rep) == 2 {
				str, _ := rep[0].(string)
				n, _ := rep[1].(float64)
				v := strings.Repeat(str, int(n))
				secret = &v
			}
		case "post_token":
			err = json.Unmarshal(raw, &postToken)
		case "header_token":
			err = json.Unmarshal(raw, &headerToken)
		case "token_header_meta":
			err = json.Unmarshal(raw, &tokenMeta)
		case "post_unreadable":
			err = json.Unmarshal(raw, &unreadable)
		case "server_port":
			var x any
			err = json.Unmarshal(raw, &x)
			switch x := x.(type) {
			case string:
				serverPort = x
			case float64:
				serverPort = strconv.Itoa(int(x))
			}
		case "server_name":
			err = json.Unmarshal(raw, &serverName)
		case "path":
			err = json.Unmarshal(raw, &reqPath)
		case "is_secure":
			var secure bool
			if err = json.Unmarshal(raw, &secure); err == nil && secure {
				scheme = "https"
			}
		case "meta":
			// Raw WSGI environ entries: HTTP_* are headers.
			var meta map[string]string
			if err = json.Unmarshal(raw, &meta); err != nil {
				break
			}
			for mk, mv := range meta {
				switch {
				case strings.HasPrefix(mk, "HTTP_"):
					headers[metaToHeader(mk)] = mv
				case mk == "SERVER_PORT":
					serverPort = mv
				case mk == "SERVER_NAME":
					serverName = mv
				case mk == "REMOTE_ADDR", mk == "REMOTE_HOST":
					// The client's address plays no part in the CSRF checks.
				default:
					return fmt.Errorf("request meta %s is not interpreted by this harness", mk)
				}
			}
		case "remote_addr", "remote_host":
			// The client's address plays no part in the CSRF checks.
		default:
			return fmt.Errorf("request field %s is not interpreted by this harness", k)
		}
		if err != nil {
			return fmt.Errorf("request field %s: %v", k, err)
		}
	}

	var body io.Reader = http.NoBody
	form := url.Values{}
	if postToken != nil {
		form.Set(csrf.FormField, *postToken)
	}
	if unreadable {
		body = errReader{}
	} else if len(form) > 0 {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://placeholder"+reqPath, body)
	r.Host = ""
	delete(r.Header, "Host")
	if len(form) > 0 || unreadable {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, val := range headers {
		if strings.EqualFold(k, "Host") {
			r.Host = val
			continue
		}
		r.Header[http.CanonicalHeaderKey(k)] = []string{val}
	}
	if headerToken != nil {
		r.Header[http.CanonicalHeaderKey(metaToHeader(tokenMeta))] = []string{*headerToken}
	}

	// Request facts as trustedproxy and hosts would establish them with the
	// proxy trusted: Django's request.scheme, _get_raw_host, get_port and
	// get_host (ALLOWED_HOSTS, with the test runner's "testserver").
	f := &trustedproxy.Facts{Scheme: scheme, Port: serverPort}
	if len(s.proxySSLHeader) == 2 {
		if hv, ok := r.Header[http.CanonicalHeaderKey(metaToHeader(s.proxySSLHeader[0]))]; ok {
			first, _, _ := strings.Cut(hv[0], ",")
			f.Scheme = "http"
			if strings.TrimSpace(first) == s.proxySSLHeader[1] {
				f.Scheme = "https"
			}
		}
	}
	if s.xForwardedPort {
		if hv, ok := r.Header["X-Forwarded-Port"]; ok {
			f.Port = hv[0]
		}
	}
	switch xfh, ok := r.Header["X-Forwarded-Host"]; {
	case s.xForwardedHost && ok:
		f.Host = xfh[0]
	case r.Host != "":
		f.Host = r.Host
	case serverName != "":
		f.Host = serverName
		def := "80"
		if f.Scheme == "https" {
			def = "443"
		}
		if f.Port != def && f.Port != "" {
			f.Host += ":" + f.Port
		}
	}
	// Django's test runner sets ALLOWED_HOSTS to [..., "testserver"];
	// a vector listing ALLOWED_HOSTS (override_settings) replaces that
	// list, and DEBUG's localhost defaults apply only when the effective
	// list is empty.
	allowed := []string{"testserver"}
	if s.allowedHostsSet {
		allowed = s.allowedHosts
	}
	if s.debug && len(allowed) == 0 {
		allowed = []string{".localhost", "127.0.0.1", "[::1]"}
	}
	validated := ""
	if d, _ := hosts.SplitDomainPort(f.Host); d != "" {
		for _, pat := range allowed {
			if pat == "*" || hosts.IsSameDomain(d, pat) {
				validated = f.Host
				break
			}
		}
	}
	r = reqstatetest.With(r, reqstate.Conn(*f), validated, true)

	if secret != nil {
		if s.useSessions {
			sessions.value = *secret
		} else {
			r.AddCookie(&http.Cookie{Name: p.CookieName(r), Value: "placeholder"})
			// AddCookie refuses some values; write the header verbatim.
			r.Header.Set("Cookie", p.CookieName(r)+"="+*secret)
		}
	}

	// Direct checks pinned by the vectors.
	var problems []string
	if raw, ok := v.Expected["origin_verified"]; ok {
		var want bool
		_ = json.Unmarshal(raw, &want)
		if got := csrf.OriginVerified(p, r); got != want {
			problems = append(problems, fmt.Sprintf("origin verified = %v, want %v", got, want))
		}
	}
	if raw, ok := v.Expected["check_referer_reason"]; ok {
		var want string
		_ = json.Unmarshal(raw, &want)
		if got := csrf.CheckReferer(p, r); got != want {
			problems = append(problems, fmt.Sprintf("referer check = %q, want %q", got, want))
		}
	}
	if raw, ok := v.Expected["parsed_trusted_origins"]; ok {
		var want struct {
			Exact      []string            `json:"allowed_origins_exact"`
			Subdomains map[string][]string `json:"allowed_origin_subdomains"`
		}
		_ = json.Unmarshal(raw, &want)
		exact, subs := csrf.TrustedOrigins(p)
		if !reflect.DeepEqual(exact, want.Exact) || !reflect.DeepEqual(subs, want.Subdomains) {
			problems = append(problems, fmt.Sprintf("trusted origins = %v %v, want %v %v", exact, subs, want.Exact, want.Subdomains))
		}
	}

	// The middleware, in front of a mux routing to the vector's view.
	ran := false
	var view http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ran = true
		if v.View == "token" {
			if tok := csrf.Token(r); len(tok) != csrf.TokenLength {
				problems = append(problems, fmt.Sprintf("Token returned %q", tok))
			}
		}
		io.WriteString(w, "OK")
	})
	switch v.View {
	case "post_form", "token", "non_token", "":
	case "exempt":
		view = csrf.Exempt(view)
	default:
		return fmt.Errorf("view %q is not interpreted by this harness", v.View)
	}
	mux := http.NewServeMux()
	mux.Handle("/", view)
	w := httptest.NewRecorder()
	p.Handler(mux).ServeHTTP(w, r)
	res := w.Result()

	for k, raw := range v.Expected {
		switch k {
		case "accepted":
			var want bool
			_ = json.Unmarshal(raw, &want)
			if ran != want {
				fails := logs.find("csrf_failure")
				problems = append(problems, fmt.Sprintf("accepted = %v, want %v (status %d, events %v)", ran, want, res.StatusCode, fails))
			}
		case "status":
			var want int
			_ = json.Unmarshal(raw, &want)
			if res.StatusCode != want {
				problems = append(problems, fmt.Sprintf("status = %d, want %d", res.StatusCode, want))
			}
		case "reason":
			var want string
			_ = json.Unmarshal(raw, &want)
			// The reason is Django's exactly; the event logs it with any
			// Referer query and fragment left out.
			if failure == nil || failure.Reason != want {
				problems = append(problems, fmt.Sprintf("failure reason = %v, want %q", failure, want))
				break
			}
			fails := logs.find("csrf_failure")
			if slug := csrf.Slug(failure); !refusal.IsSlug(slug) || slug == "csrf_failure" {
				problems = append(problems, fmt.Sprintf("no reason slug for %q: %q", failure.Reason, slug))
			}
			if len(fails) != 1 || fails[0]["reason"] != csrf.Slug(failure) || fails[0]["detail"] != strconv.Quote(csrf.LogReason(failure)) {
				problems = append(problems, fmt.Sprintf("csrf_failure events = %v, want one with detail %q", fails, csrf.LogReason(failure)))
			} else if fails[0]["path"] != r.URL.Path {
				problems = append(problems, fmt.Sprintf("csrf_failure path = %q, want %q", fails[0]["path"], r.URL.Path))
			}
		case "log":
			// Django's logger and message format; the csrf_failure event
			// (checked with "reason") is Bulwark's equivalent.
		case "content_type":
			var want string
			_ = json.Unmarshal(raw, &want)
			if got := res.Header.Get("Content-Type"); got != want {
				problems = append(problems, fmt.Sprintf("content type = %q, want %q", got, want))
			}
		case "response_cookie":
			var want map[string]any
			_ = json.Unmarshal(raw, &want)
			problems = append(problems, checkResponseCookie(p, r, res, sessions, s.useSessions, want)...)
		case "response_cookie_absent":
			if s.useSessions {
				if sessions.writes != 0 {
					problems = append(problems, "session written")
				}
			} else if sc := res.Header.Values("Set-Cookie"); len(sc) != 0 {
				problems = append(problems, fmt.Sprintf("Set-Cookie sent: %q", sc))
			}
		case "vary_contains":
			var want string
			_ = json.Unmarshal(raw, &want)
			if !slices.ContainsFunc(res.Header.Values("Vary"), func(v string) bool { return strings.Contains(v, want) }) {
				problems = append(problems, fmt.Sprintf("Vary = %q, want it to contain %q", res.Header.Values("Vary"), want))
			}
		case "body_contains":
			// Django's assertContains on the failure page: with DEBUG
			// the reason is on it, escaped as the template escapes it.
			var want string
			_ = json.Unmarshal(raw, &want)
			if body := w.Body.String(); !strings.Contains(body, want) {
				problems = append(problems, fmt.Sprintf("body %q does not contain %q", body, want))
			}
		case "origin_verified", "check_referer_reason", "parsed_trusted_origins":
		default:
			problems = append(problems, fmt.Sprintf("expected field %s is not interpreted by this harness", k))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkResponseCookie(p *csrf.Protection, r *http.Request, res *http.Response, sessions *testSessions, useSessions bool, want map[string]any) []string {
	var problems []string
	var value string
	var c *http.Cookie
	if useSessions {
		value = sessions.value
	} else {
		for _, sc := range res.Cookies() {
			if sc.Name == p.CookieName(r) {
				c = sc
			}
		}
		if c == nil {
			return []string{fmt.Sprintf("no %s cookie in %q", p.CookieName(r), res.Header.Values("Set-Cookie"))}
		}
		value = c.Value
	}
	raw := ""
	if c != nil {
		raw = c.Raw
		for _, l := range res.Header.Values("Set-Cookie") {
			if strings.HasPrefix(l, c.Name+"=") {
				raw = l
			}
		}
	}
	for k, w := range want {
		switch k {
		case "value":
			if value != w {
				problems = append(problems, fmt.Sprintf("stored secret = %q, want %q", value, w))
			}
		case "value_not":
			// The stored secret was replaced (a malformed cookie is not
			// kept).
			if value == w {
				problems = append(problems, fmt.Sprintf("stored secret = %q, want anything else", value))
			}
		case "value_length":
			if float64(len(value)) != w {
				problems = append(problems, fmt.Sprintf("stored secret length = %d, want %v", len(value), w))
			}
		case "value_charset":
			if csrf.CheckFormat(value) != "" {
				problems = append(problems, fmt.Sprintf("stored secret %q is not alphanumeric", value))
			}
		default:
			if useSessions {
				continue // cookie attributes: no cookie in session mode
			}
			switch k {
			case "max-age":
				// Django's Morsel holds "" when CSRF_COOKIE_AGE is None: a
				// browser-session cookie, without Max-Age.
				switch w := w.(type) {
				case float64:
					if float64(c.MaxAge) != w {
						problems = append(problems, fmt.Sprintf("Max-Age = %d, want %v", c.MaxAge, w))
					}
				case string:
					if w != "" {
						problems = append(problems, fmt.Sprintf("max-age %q is not interpreted by this harness", w))
					} else if c.MaxAge != 0 || strings.Contains(strings.ToLower(raw), "max-age=") {
						problems = append(problems, fmt.Sprintf("Set-Cookie %q has a Max-Age, want none", raw))
					}
				default:
					problems = append(problems, fmt.Sprintf("max-age %v is not interpreted by this harness", w))
				}
			case "domain":
				// RFC 6265 ignores a leading dot; Go writes none.
				if strings.TrimPrefix(c.Domain, ".") != strings.TrimPrefix(fmt.Sprint(w), ".") {
					problems = append(problems, fmt.Sprintf("Domain = %q, want %v", c.Domain, w))
				}
			case "path":
				if c.Path != w {
					problems = append(problems, fmt.Sprintf("Path = %q, want %v", c.Path, w))
				}
			case "secure":
				if c.Secure != (w == true) {
					problems = append(problems, fmt.Sprintf("Secure = %v, want %v", c.Secure, w))
				}
			case "httponly":
				if c.HttpOnly != (w == true) {
					problems = append(problems, fmt.Sprintf("HttpOnly = %v, want %v", c.HttpOnly, w))
				}
			case "samesite":
				if !strings.Contains(raw, "SameSite="+fmt.Sprint(w)) {
					problems = append(problems, fmt.Sprintf("Set-Cookie %q, want SameSite=%v", raw, w))
				}
			case "has_expires":
				has := c.RawExpires != "" || strings.Contains(strings.ToLower(raw), "expires=")
				if want, ok := w.(bool); !ok {
					problems = append(problems, fmt.Sprintf("has_expires %v is not interpreted by this harness", w))
				} else if has != want {
					problems = append(problems, fmt.Sprintf("Set-Cookie %q: Expires present = %v, want %v", raw, has, want))
				}
			default:
				problems = append(problems, fmt.Sprintf("cookie attribute %s is not interpreted by this harness", k))
			}
		}
	}
	return problems
}

// TestDjangoHarnessFields: the fields Django's own tests assert on the
// failure page (body_contains, with DEBUG) and on a replaced cookie
// (value_not) are interpreted, and a vector that contradicts the
// middleware fails.
func TestDjangoHarnessFields(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		ok     bool
	}{
		{"debug page states the reason", `{"id": "t1", "mode": "cookie", "settings": {"DEBUG": true}, "request": {"method": "POST"}, "view": "post_form",
			"expected": {"accepted": false, "status": 403, "reason": "CSRF cookie not set.", "body_contains": "CSRF cookie not set."}}`, true},
		{"debug page escapes as Django's template", `{"id": "t2", "mode": "cookie", "settings": {"DEBUG": true}, "request": {"method": "POST", "scheme": "https", "headers": {"Origin": "https://<evil>&x"}}, "view": "post_form",
			"expected": {"accepted": false, "body_contains": "Origin checking failed - https://&lt;evil&gt;&amp;x does not match any trusted origins."}}`, true},
		{"no reason without DEBUG", `{"id": "t3", "mode": "cookie", "settings": {}, "request": {"method": "POST"}, "view": "post_form",
			"expected": {"accepted": false, "body_contains": "CSRF cookie not set."}}`, false},
		{"malformed cookie replaced", `{"id": "t4", "mode": "cookie", "settings": {}, "request": {"method": "GET", "csrf_secret": "aaaaaaaaaaaaaaaa"}, "view": "token",
			"expected": {"accepted": true, "response_cookie": {"value_not": "aaaaaaaaaaaaaaaa", "value_length": 32}}}`, true},
		{"value_not catches a kept cookie", `{"id": "t5", "mode": "cookie", "settings": {}, "request": {"method": "GET", "csrf_secret": "lcccccccX2kcccccccY2jcccccccssIC"}, "view": "token",
			"expected": {"accepted": true, "response_cookie": {"value_not": "lcccccccX2kcccccccY2jcccccccssIC"}}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v djangoVector
			if err := json.Unmarshal([]byte(tt.vector), &v); err != nil {
				t.Fatal(err)
			}
			err := runDjangoVector(v)
			if (err == nil) != tt.ok {
				t.Errorf("runDjangoVector = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}
