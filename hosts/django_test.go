package hosts_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// The Django conformance harness replays testdata/django/hosts.json. It
// maps each vector's Django settings to Config values and its WSGI META to
// a Go request, generically:
//
//   - Django trusts proxy headers from every peer; Bulwark only from
//     trusted networks. Every vector's request therefore comes from a peer
//     in Proxy.Trusted (proxyPeer), so that USE_X_FORWARDED_HOST,
//     USE_X_FORWARDED_PORT and SECURE_PROXY_SSL_HEADER mean what they
//     mean in Django. The attack tests cover untrusted peers.
//   - HTTP_HOST is r.Host; other HTTP_* keys are headers (HTTP_X_FOO_BAR
//     is X-Foo-Bar); SERVER_PORT is the port of the local listener
//     (http.LocalAddrContextKey); QUERY_STRING is the raw query; the
//     transport scheme "https" sets r.TLS.
//   - A Go server has no SERVER_NAME: when a client sends no Host, r.Host
//     is empty. Where a vector has no HTTP_HOST, the harness plays the
//     WSGI server and synthesises the Host header from SERVER_NAME, with
//     ":" + port unless the port is the scheme's default, taking port and
//     scheme from the Facts that trustedproxy established (so
//     X-Forwarded-Port and the SSL header count as in Django's
//     _get_raw_host).
//   - Vectors are decoded strictly: a key, setting, META key or expectation
//     without a counterpart here fails the vector rather than being
//     skipped. wsgi.url_scheme in META is the transport scheme, like the
//     scheme and transport_scheme fields.
//   - ALLOWED_HOSTS entries that can never match (a port, a trailing dot)
//     are an error at hosts.New; the harness checks that the error names
//     them, drops exactly those entries, as Django silently does, and
//     replays the vector. "*" sets AllowInsecureAnyHost, DEBUG sets
//     Development.

const (
	proxyNet  = "192.0.2.0/24"
	proxyPeer = "192.0.2.10:40000"
)

type djangoSettings struct {
	AllowedHosts         []string `json:"ALLOWED_HOSTS"`
	Debug                bool     `json:"DEBUG"`
	UseXForwardedHost    bool     `json:"USE_X_FORWARDED_HOST"`
	UseXForwardedPort    bool     `json:"USE_X_FORWARDED_PORT"`
	SecureProxySSLHeader []string `json:"SECURE_PROXY_SSL_HEADER"`
}

// hostVector is one vector of any section, decoded strictly (decodeStrict):
// a key, setting or request field this test does not read fails the
// vector instead of passing unread.
type hostVector struct {
	ID              string          `json:"id"`
	Test            string          `json:"test"` // provenance only
	Note            string          `json:"note"` // prose only
	Settings        djangoSettings  `json:"settings"`
	Scheme          string          `json:"scheme"`
	TransportScheme string          `json:"transport_scheme"`
	Meta            map[string]any  `json:"meta"`
	Expected        json.RawMessage `json:"expected"`
	Host            string          `json:"host"`
	Pattern         string          `json:"pattern"`
	Request         *struct {
		Meta        map[string]any `json:"meta"`
		Path        *string        `json:"path"`
		FactoryPath string         `json:"factory_path"`
	} `json:"request"`
	Location *string `json:"location"`
}

type hostsFile struct {
	Sections []struct {
		Name    string            `json:"name"`
		Vectors []json.RawMessage `json:"vectors"`
	} `json:"sections"`
}

func TestDjangoHosts(t *testing.T) {
	const file = "hosts.json"
	var v hostsFile
	vectors.Load(t, file, &v)
	dev := vectors.Deviations(t, file)
	n := 0
	for _, s := range v.Sections {
		var run func(hostVector) error
		switch s.Name {
		case "get_host":
			run = checkGetHost
		case "get_port":
			run = checkGetPort
		case "split_domain_port":
			run = checkSplitDomainPort
		case "is_same_domain":
			run = checkIsSameDomain
		case "scheme", "scheme_is_secure":
			run = checkScheme
		case "build_absolute_uri":
			run = checkBuildAbsoluteURI
		default:
			t.Errorf("%s: unknown section %q", file, s.Name)
			continue
		}
		for i, raw := range s.Vectors {
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Errorf("%s: %s vector %d: %v", file, s.Name, i, err)
				continue
			}
			id := head.ID
			if id == "" {
				id = s.Name + "_" + strconv.Itoa(i)
			}
			vectors.Check(t, file, id, dev, func() error {
				var vec hostVector
				if err := decodeStrict(raw, &vec); err != nil {
					return fmt.Errorf("vector: %v", err)
				}
				if err := checkMeta(vec.Meta); err != nil {
					return err
				}
				if vec.Request != nil {
					if err := checkMeta(vec.Request.Meta); err != nil {
						return err
					}
				}
				return run(vec)
			})
			n++
		}
	}
	vectors.Count(t, file, n)
}

// decodeStrict decodes one JSON value, refusing keys v has no field for.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// checkMeta refuses META keys the harness cannot map to a Go request: only
// headers (HTTP_*), SERVER_NAME, SERVER_PORT, QUERY_STRING and
// wsgi.url_scheme have a counterpart.
func checkMeta(meta map[string]any) error {
	for k := range meta {
		switch {
		case strings.HasPrefix(k, "HTTP_"), k == "SERVER_NAME", k == "SERVER_PORT", k == "QUERY_STRING", k == "wsgi.url_scheme":
		default:
			return fmt.Errorf("META key %s is not mapped", k)
		}
	}
	return nil
}

// transportScheme is the scheme of the connection: META's wsgi.url_scheme
// when given, else the vector's transport_scheme or scheme field.
func transportScheme(v hostVector, meta map[string]any) (string, error) {
	s := v.TransportScheme
	if s == "" {
		s = v.Scheme
	}
	if w, ok := metaString(meta, "wsgi.url_scheme"); ok {
		if s != "" && s != w {
			return "", fmt.Errorf("scheme %q contradicts wsgi.url_scheme %q", s, w)
		}
		s = w
	}
	switch s {
	case "", "http", "https":
		return s, nil
	}
	return "", fmt.Errorf("unknown scheme %q", s)
}

// metaString returns a META value as a string (SERVER_PORT may be a number).
func metaString(meta map[string]any, key string) (string, bool) {
	v, ok := meta[key]
	if !ok {
		return "", false
	}
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		return fmt.Sprint(v), true
	}
}

// headerName turns a META key into a header name: HTTP_X_FOO_BAR is X-Foo-Bar.
func headerName(key string) (string, bool) {
	if !strings.HasPrefix(key, "HTTP_") || key == "HTTP_HOST" {
		return "", false
	}
	return http.CanonicalHeaderKey(strings.ReplaceAll(strings.TrimPrefix(key, "HTTP_"), "_", "-")), true
}

func proxyConfig(s djangoSettings) (trustedproxy.Config, error) {
	c := trustedproxy.Config{
		Trusted:          []string{proxyNet},
		UseForwardedHost: s.UseXForwardedHost,
		UseForwardedPort: s.UseXForwardedPort,
		// Django logs nothing about proxy headers; the events of the
		// hosts layer are what runChain compares.
		Logger: slog.New(slog.DiscardHandler),
	}
	if len(s.SecureProxySSLHeader) > 0 { // an empty tuple is falsy: unset
		// Django's setting is a (META key, value) pair; anything else is
		// ImproperlyConfigured, which our Config expresses as a header
		// without its value. A META key that is not a request header
		// (HTTPS, wsgi.url_scheme) has no counterpart.
		name, ok := headerName(s.SecureProxySSLHeader[0])
		if !ok {
			return c, fmt.Errorf("SECURE_PROXY_SSL_HEADER key %q is not mapped", s.SecureProxySSLHeader[0])
		}
		c.SSLHeader = name
		if len(s.SecureProxySSLHeader) == 2 {
			c.SSLHeaderValue = s.SecureProxySSLHeader[1]
		}
	}
	return c, nil
}

// newResolver builds the trusted-proxy layer for the vector's settings.
func newResolver(s djangoSettings) (*trustedproxy.Resolver, error) {
	pc, err := proxyConfig(s)
	if err != nil {
		return nil, err
	}
	tp, err := trustedproxy.New(pc)
	if err != nil {
		return nil, fmt.Errorf("trustedproxy.New: %v", err)
	}
	return tp, nil
}

// newValidator builds the hosts Validator for Django settings, dropping
// (after checking the error names them) entries hosts.New refuses because
// they can never match.
func newValidator(s djangoSettings, log *bytes.Buffer) (*hosts.Validator, error) {
	c := hosts.Config{
		Allowed:              s.AllowedHosts,
		AllowInsecureAnyHost: slices.Contains(s.AllowedHosts, "*"),
		Development:          s.Debug,
		Logger:               slog.New(slog.NewJSONHandler(log, nil)),
	}
	v, err := hosts.New(c)
	var ee *hosts.EntryError
	if errors.As(err, &ee) {
		if !errors.Is(err, hosts.ErrConfig) || len(ee.Entries) == 0 {
			return nil, fmt.Errorf("hosts.New: malformed entry error %v", err)
		}
		var kept []string
		for _, e := range c.Allowed {
			if !slices.Contains(ee.Entries, e) {
				kept = append(kept, e)
			}
		}
		c.Allowed = kept
		v, err = hosts.New(c)
	}
	return v, err
}

// buildRequest turns a vector's META into a request from the trusted peer.
func buildRequest(meta map[string]any, scheme, path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://placeholder/", nil)
	r.URL.Path = path
	r.URL.RawPath = ""
	r.RequestURI = path
	r.Host = ""
	r.RemoteAddr = proxyPeer
	r.Header = http.Header{}
	if q, ok := metaString(meta, "QUERY_STRING"); ok {
		r.URL.RawQuery = q
	}
	for k := range meta {
		if name, ok := headerName(k); ok {
			s, _ := metaString(meta, k)
			r.Header.Set(name, s)
		}
	}
	if h, ok := metaString(meta, "HTTP_HOST"); ok {
		r.Host = h
	}
	if scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	if p, ok := metaString(meta, "SERVER_PORT"); ok {
		port, _ := strconv.Atoi(p)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: port}))
	}
	return r
}

// withServerName plays the WSGI server: without a Host header, the host is
// SERVER_NAME plus the port unless it is the scheme's default. It does
// nothing when the client sent a host (or a trusted proxy's forwarded host
// takes its place).
func withServerName(r *http.Request, tp *trustedproxy.Resolver, meta map[string]any, s djangoSettings) (*http.Request, error) {
	if _, ok := meta["HTTP_HOST"]; ok {
		return r, nil
	}
	if _, ok := meta["HTTP_X_FORWARDED_HOST"]; ok && s.UseXForwardedHost {
		return r, nil // the forwarded host is used, even when empty
	}
	name, ok := metaString(meta, "SERVER_NAME")
	if !ok {
		return r, nil
	}
	f, err := tp.Facts(r)
	if err != nil {
		return nil, err
	}
	def := "80"
	if f.Scheme == "https" {
		def = "443"
	}
	r2 := r.Clone(r.Context())
	r2.Host = name
	if f.Port != def {
		r2.Host += ":" + f.Port
	}
	return r2, nil
}

type chainResult struct {
	code   int
	host   string // hosts.Host inside the chain
	events []map[string]any
	check  error // Validator.Check on the request with the chain's facts
	facts  trustedproxy.Facts
}

// runChain runs trustedproxy and hosts handlers, Bulwark's order, over r.
func runChain(r *http.Request, tp *trustedproxy.Resolver, hv *hosts.Validator, log *bytes.Buffer, inner func(*http.Request)) (chainResult, error) {
	var res chainResult
	f, err := tp.Facts(r)
	if err != nil {
		return res, fmt.Errorf("trustedproxy refused the request: %v", err)
	}
	res.facts = f
	res.check = hv.Check(reqstatetest.With(r, reqstate.Conn(f), "", false))
	h := tp.Handler(hv.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res.host, _ = hosts.Host(r)
		if inner != nil {
			inner(r)
		}
	})))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res.code = w.Code
	for _, line := range bytes.Split(bytes.TrimSpace(log.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			return res, fmt.Errorf("log line %q: %v", line, err)
		}
		res.events = append(res.events, ev)
	}
	// A refusal is exactly a 400 with the status text, one event, and a
	// Check error; an acceptance has none of them.
	if (res.code == http.StatusBadRequest) != (res.check != nil) {
		return res, fmt.Errorf("handler status %d disagrees with Check error %v", res.code, res.check)
	}
	if res.code == http.StatusBadRequest {
		if got := strings.TrimSpace(w.Body.String()); got != http.StatusText(http.StatusBadRequest) {
			return res, fmt.Errorf("refusal body %q, want the status text", got)
		}
		if len(res.events) != 1 || res.events[0]["event"] != "disallowed_host" {
			return res, fmt.Errorf("refusal logged %v, want one disallowed_host event", res.events)
		}
	} else if len(res.events) != 0 {
		return res, fmt.Errorf("accepted request logged %v", res.events)
	}
	return res, nil
}

func checkGetHost(v hostVector) error {
	var want struct {
		Host    *string `json:"host"`
		Raises  string  `json:"raises"`
		Message string  `json:"message"`
	}
	if err := decodeStrict(v.Expected, &want); err != nil {
		return fmt.Errorf("expected: %v", err)
	}
	scheme, err := transportScheme(v, v.Meta)
	if err != nil {
		return err
	}
	tp, err := newResolver(v.Settings)
	if err != nil {
		return err
	}
	var log bytes.Buffer
	hv, err := newValidator(v.Settings, &log)
	if err != nil {
		return fmt.Errorf("hosts.New: %v", err)
	}
	r, err := withServerName(buildRequest(v.Meta, scheme, "/"), tp, v.Meta, v.Settings)
	if err != nil {
		return err
	}
	res, err := runChain(r, tp, hv, &log, nil)
	if err != nil {
		return err
	}
	switch {
	case want.Host != nil:
		if res.code != http.StatusOK || res.host != *want.Host {
			return fmt.Errorf("got status %d host %q (check: %v), want host %q", res.code, res.host, res.check, *want.Host)
		}
	case want.Raises == "DisallowedHost":
		var he *hosts.HostError
		if res.code != http.StatusBadRequest || !errors.As(res.check, &he) || !errors.Is(res.check, hosts.ErrDisallowedHost) {
			return fmt.Errorf("got status %d host %q, want DisallowedHost", res.code, res.host)
		}
		if want.Message != "" && he.DjangoMessage() != want.Message {
			return fmt.Errorf("message %q, want %q", he.DjangoMessage(), want.Message)
		}
		if !strings.Contains(res.check.Error(), he.DjangoMessage()) {
			return fmt.Errorf("error %q does not carry Django's message", res.check)
		}
	default:
		return fmt.Errorf("unknown expectation %s", v.Expected)
	}
	return nil
}

func checkGetPort(v hostVector) error {
	var want struct {
		Port string `json:"port"`
	}
	if err := decodeStrict(v.Expected, &want); err != nil {
		return fmt.Errorf("expected: %v", err)
	}
	scheme, err := transportScheme(v, v.Meta)
	if err != nil {
		return err
	}
	tp, err := newResolver(v.Settings)
	if err != nil {
		return err
	}
	f, err := tp.Facts(buildRequest(v.Meta, scheme, "/"))
	if err != nil {
		return err
	}
	if f.Port != want.Port {
		return fmt.Errorf("port %q, want %q", f.Port, want.Port)
	}
	return nil
}

func checkSplitDomainPort(v hostVector) error {
	var want struct {
		Domain string `json:"domain"`
		Port   string `json:"port"`
	}
	if err := decodeStrict(v.Expected, &want); err != nil {
		return fmt.Errorf("expected: %v", err)
	}
	d, p := hosts.SplitDomainPort(v.Host)
	if d != want.Domain || p != want.Port {
		return fmt.Errorf("SplitDomainPort(%q) = %q, %q; want %q, %q", v.Host, d, p, want.Domain, want.Port)
	}
	return nil
}

func checkIsSameDomain(v hostVector) error {
	var want bool
	if err := json.Unmarshal(v.Expected, &want); err != nil {
		return err
	}
	if got := hosts.IsSameDomain(v.Host, v.Pattern); got != want {
		return fmt.Errorf("IsSameDomain(%q, %q) = %v, want %v", v.Host, v.Pattern, got, want)
	}
	return nil
}

func checkScheme(v hostVector) error {
	var want struct {
		IsSecure *bool  `json:"is_secure"`
		Scheme   string `json:"scheme"`
		Raises   string `json:"raises"`
		// Message is Django's ImproperlyConfigured text; Bulwark refuses
		// the configuration at New with an error of its own, so only the
		// refusal is compared.
		Message string `json:"message"`
	}
	if err := decodeStrict(v.Expected, &want); err != nil {
		return fmt.Errorf("expected: %v", err)
	}
	scheme, err := transportScheme(v, v.Meta)
	if err != nil {
		return err
	}
	pc, err := proxyConfig(v.Settings)
	if err != nil {
		return err
	}
	tp, err := trustedproxy.New(pc)
	if want.Raises != "" {
		// Django raises ImproperlyConfigured on first use; Bulwark refuses
		// the configuration at New.
		if want.Raises == "ImproperlyConfigured" && errors.Is(err, trustedproxy.ErrConfig) {
			return nil
		}
		return fmt.Errorf("trustedproxy.New error %v, want %s", err, want.Raises)
	}
	if err != nil {
		return fmt.Errorf("trustedproxy.New: %v", err)
	}
	r := buildRequest(v.Meta, scheme, "/")
	f, err := tp.Facts(r)
	if err != nil {
		return err
	}
	// The accessors inside the handler chain must agree with Facts.
	var gotScheme string
	var gotSecure bool
	tp.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotScheme, gotSecure = trustedproxy.Scheme(r), trustedproxy.IsSecure(r)
	})).ServeHTTP(httptest.NewRecorder(), r)
	if f.Scheme != want.Scheme || gotScheme != want.Scheme {
		return fmt.Errorf("scheme %q (handler %q), want %q", f.Scheme, gotScheme, want.Scheme)
	}
	if want.IsSecure != nil && gotSecure != *want.IsSecure {
		return fmt.Errorf("IsSecure %v, want %v", gotSecure, *want.IsSecure)
	}
	return nil
}

func checkBuildAbsoluteURI(v hostVector) error {
	var want string
	var wantRaise struct {
		Raises string `json:"raises"`
	}
	if err := json.Unmarshal(v.Expected, &want); err != nil {
		if err := decodeStrict(v.Expected, &wantRaise); err != nil || wantRaise.Raises != "DisallowedHost" {
			return fmt.Errorf("unknown expectation %s", v.Expected)
		}
	}
	if v.Request == nil {
		return errors.New("vector has no request")
	}
	meta := v.Request.Meta
	tp, err := newResolver(v.Settings)
	if err != nil {
		return err
	}
	var log bytes.Buffer
	hv, err := newValidator(v.Settings, &log)
	if err != nil {
		return fmt.Errorf("hosts.New: %v", err)
	}
	// request.path; the path given to RequestFactory when only that is known.
	path := v.Request.FactoryPath
	if v.Request.Path != nil {
		path = *v.Request.Path
	}
	scheme, err := transportScheme(v, meta)
	if err != nil {
		return err
	}
	r, err := withServerName(buildRequest(meta, scheme, path), tp, meta, v.Settings)
	if err != nil {
		return err
	}
	build := func(r *http.Request) (string, error) {
		if v.Location == nil {
			return hosts.RequestURL(r)
		}
		return hosts.AbsoluteURL(r, *v.Location)
	}
	var got string
	var gotErr error
	res, err := runChain(r, tp, hv, &log, func(r *http.Request) { got, gotErr = build(r) })
	if err != nil {
		return err
	}
	if res.code != http.StatusOK {
		// The host was refused: only a location that needs no host can
		// still be built, from the unvalidated request.
		rr := reqstatetest.With(r, reqstate.Conn(res.facts), "", false)
		got, gotErr = build(rr)
	}
	if wantRaise.Raises != "" {
		if gotErr == nil {
			return fmt.Errorf("got %q, want %s", got, wantRaise.Raises)
		}
		return nil
	}
	if gotErr != nil || got != want {
		return fmt.Errorf("got %q, %v; want %q", got, gotErr, want)
	}
	return nil
}
