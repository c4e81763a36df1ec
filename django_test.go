package bulwark_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/vectors"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type middlewareFile struct {
	Defaults map[string]json.RawMessage `json:"defaults"`
	Vectors  []json.RawMessage          `json:"vectors"`
}

// secVector is one vector, decoded strictly (decodeStrict): a key this
// test does not read fails the vector instead of passing unread.
type secVector struct {
	ID       string                     `json:"id"`
	Source   string                     `json:"source"` // provenance only
	Test     string                     `json:"test"`   // provenance only
	Note     string                     `json:"note"`   // prose only
	Settings map[string]json.RawMessage `json:"settings"`
	Request  struct {
		Method      string            `json:"method"`
		Scheme      string            `json:"scheme"`
		Path        string            `json:"path"`
		QueryString string            `json:"query_string"`
		ServerName  string            `json:"server_name"`
		ServerPort  string            `json:"server_port"`
		Headers     map[string]string `json:"headers"`
	} `json:"request"`
	ViewResponseHeaders map[string]string `json:"view_response_headers"`
	RawExpected         json.RawMessage   `json:"expected"`
	Expected            struct {
		Redirect *struct {
			Status   int    `json:"status"`
			Location string `json:"Location"`
		} `json:"redirect"`
		FullCall         bool              `json:"full_call"`
		Headers          map[string]string `json:"headers"`
		HeadersAbsent    []string          `json:"headers_absent"`
		Raises           string            `json:"raises"`
		StatusViaHandler int               `json:"status_via_handler"`
	} `json:"-"`
}

// vectorPeer is the TCP peer of every vector request. Django has no notion
// of a trusted proxy: a vector that sets SECURE_PROXY_SSL_HEADER or
// USE_X_FORWARDED_* describes a deployment behind a proxy, which Bulwark
// expresses by trusting that proxy's address, this one.
const vectorPeer = "192.0.2.10"

// djangoConfig maps Django settings (defaults overlaid with the vector's)
// to a bulwark.Config. An unknown setting is an error, so that a new
// vector cannot pass by being half-read.
func djangoConfig(settings map[string]json.RawMessage) (bulwark.Config, error) {
	c := bulwark.Config{Logger: quiet}
	var proxyHeader []string
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := settings[k]
		var err error
		switch k {
		case "ALLOWED_HOSTS":
			err = json.Unmarshal(raw, &c.Hosts.Allowed)
			for _, h := range c.Hosts.Allowed {
				if h == "*" {
					c.Hosts.AllowInsecureAnyHost = true
				}
			}
		case "SECURE_SSL_REDIRECT":
			var on bool
			err = json.Unmarshal(raw, &on)
			c.HTTPS.AllowInsecureHTTP = !on
		case "SECURE_SSL_HOST":
			var s *string
			err = json.Unmarshal(raw, &s)
			if s != nil {
				c.HTTPS.SSLHost = *s
			}
		case "SECURE_REDIRECT_EXEMPT":
			var pats []string
			err = json.Unmarshal(raw, &pats)
			for _, p := range pats {
				re2, perr := pyRegexToRE2(p)
				if perr != nil {
					return c, fmt.Errorf("setting %s: %v", k, perr)
				}
				c.HTTPS.Exempt = append(c.HTTPS.Exempt, re2)
			}
		case "SECURE_HSTS_SECONDS":
			var n int64
			err = json.Unmarshal(raw, &n)
			c.HTTPS.InsecureDisableHSTS = n == 0
			c.HTTPS.HSTSMaxAge = time.Duration(n) * time.Second
		case "SECURE_HSTS_INCLUDE_SUBDOMAINS":
			err = json.Unmarshal(raw, &c.HTTPS.HSTSIncludeSubdomains)
		case "SECURE_HSTS_PRELOAD":
			err = json.Unmarshal(raw, &c.HTTPS.HSTSPreload)
		case "SECURE_CONTENT_TYPE_NOSNIFF":
			var on bool
			err = json.Unmarshal(raw, &on)
			c.Headers.InsecureAllowSniffing = !on
		case "SECURE_REFERRER_POLICY":
			var v any
			err = json.Unmarshal(raw, &v)
			// Django sends the header only when the setting is truthy:
			// None, "" and an empty list all mean no header.
			switch v := v.(type) {
			case nil:
				c.Headers.InsecureOmitReferrerPolicy = true
			case string:
				if v == "" {
					c.Headers.InsecureOmitReferrerPolicy = true
				} else {
					c.Headers.ReferrerPolicy = []string{v}
				}
			case []any:
				if len(v) == 0 {
					c.Headers.InsecureOmitReferrerPolicy = true
				}
				for _, x := range v {
					s, ok := x.(string)
					if !ok {
						return c, fmt.Errorf("setting %s: item %v is not a string", k, x)
					}
					c.Headers.ReferrerPolicy = append(c.Headers.ReferrerPolicy, s)
				}
			default:
				return c, fmt.Errorf("setting %s: %s is not mapped", k, raw)
			}
		case "SECURE_CROSS_ORIGIN_OPENER_POLICY":
			var s *string
			err = json.Unmarshal(raw, &s)
			if s == nil || *s == "" { // falsy: no header
				c.Headers.InsecureOmitCrossOriginOpenerPolicy = true
			} else {
				c.Headers.CrossOriginOpenerPolicy = *s
			}
		case "X_FRAME_OPTIONS":
			err = json.Unmarshal(raw, &c.Headers.FrameOptions)
		case "SECURE_PROXY_SSL_HEADER":
			err = json.Unmarshal(raw, &proxyHeader)
		case "USE_X_FORWARDED_HOST":
			err = json.Unmarshal(raw, &c.Proxy.UseForwardedHost)
		case "USE_X_FORWARDED_PORT":
			err = json.Unmarshal(raw, &c.Proxy.UseForwardedPort)
		default:
			return c, fmt.Errorf("setting %s is not mapped", k)
		}
		if err != nil {
			return c, fmt.Errorf("setting %s: %v", k, err)
		}
	}
	if len(proxyHeader) > 0 { // an empty tuple is falsy: unset
		// Django's setting is a (META key, value) pair naming a request
		// header; anything else has no Config counterpart here.
		if len(proxyHeader) != 2 || !strings.HasPrefix(proxyHeader[0], "HTTP_") || len(proxyHeader[0]) == len("HTTP_") {
			return c, fmt.Errorf("setting SECURE_PROXY_SSL_HEADER %q is not mapped", proxyHeader)
		}
		c.Proxy.SSLHeader = metaToHeader(proxyHeader[0])
		c.Proxy.SSLHeaderValue = proxyHeader[1]
	}
	if len(proxyHeader) == 2 || c.Proxy.UseForwardedHost || c.Proxy.UseForwardedPort {
		c.Proxy.Trusted = []string{vectorPeer}
	}
	return c, nil
}

// metaToHeader turns a WSGI META key (HTTP_X_FORWARDED_PROTO) into the
// header name (X-Forwarded-Proto).
func metaToHeader(meta string) string {
	parts := strings.Split(strings.TrimPrefix(meta, "HTTP_"), "_")
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
	}
	return strings.Join(parts, "-")
}

// vectorRequest builds the request a WSGI server would have passed Django.
// Without a Host header, Django falls back to SERVER_NAME plus the port
// (get_port(), so X-Forwarded-Port under USE_X_FORWARDED_PORT) when it is
// not the scheme's default; a Go server always has a Host, so the fallback
// is computed here, as a front server would send it.
func vectorRequest(v secVector, settings map[string]json.RawMessage) *http.Request {
	q := v.Request
	r := httptest.NewRequest(q.Method, "/", nil)
	r.URL.Path, r.URL.RawPath, r.URL.RawQuery = q.Path, "", q.QueryString
	r.RequestURI = q.Path
	r.RemoteAddr = vectorPeer + ":41000"
	r.TLS = nil
	if q.Scheme == "https" {
		r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, HandshakeComplete: true}
	}
	port, _ := strconv.Atoi(q.ServerPort)
	ctx := r.Context()
	r = r.WithContext(contextWithLocalAddr(ctx, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: port}))
	r.Header = http.Header{}
	host, hasHost := "", false
	for k, val := range q.Headers {
		if strings.EqualFold(k, "Host") {
			host, hasHost = val, true
			continue
		}
		r.Header.Set(k, val)
	}
	if !hasHost {
		secure := q.Scheme == "https"
		var ph []string
		if raw, ok := settings["SECURE_PROXY_SSL_HEADER"]; ok && json.Unmarshal(raw, &ph) == nil && len(ph) == 2 {
			if val, ok := r.Header[metaToHeader(ph[0])]; ok {
				first, _, _ := strings.Cut(strings.Join(val, ","), ",")
				secure = strings.TrimSpace(first) == ph[1]
			}
		}
		// Django's get_port(): X-Forwarded-Port, present (even empty),
		// replaces SERVER_PORT when USE_X_FORWARDED_PORT is on.
		port := q.ServerPort
		var useFwdPort bool
		if raw, ok := settings["USE_X_FORWARDED_PORT"]; ok && json.Unmarshal(raw, &useFwdPort) == nil && useFwdPort {
			if val, ok := r.Header["X-Forwarded-Port"]; ok {
				port = strings.Join(val, ",")
			}
		}
		host = q.ServerName
		if def := map[bool]string{true: "443", false: "80"}[secure]; port != def {
			host += ":" + port
		}
	}
	r.Host = host
	return r
}

func TestDjangoSecurityMiddleware(t *testing.T) {
	const file = "security_middleware.json"
	var f middlewareFile
	vectors.Load(t, file, &f)
	dev := vectors.Deviations(t, file)
	for i, raw := range f.Vectors {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &head); err != nil || head.ID == "" {
			t.Errorf("%s: vector %d has no id (%v)", file, i, err)
			continue
		}
		vectors.Check(t, file, head.ID, dev, func() error {
			var v secVector
			if err := decodeStrict(raw, &v); err != nil {
				return fmt.Errorf("vector: %v", err)
			}
			return checkSecurityVector(f.Defaults, v)
		})
	}
	vectors.Count(t, file, len(f.Vectors))
}

func checkSecurityVector(defaults map[string]json.RawMessage, v secVector) error {
	settings := map[string]json.RawMessage{}
	for k, val := range defaults {
		settings[k] = val
	}
	for k, val := range v.Settings {
		settings[k] = val
	}
	// Expectations are decoded strictly: one this test does not check
	// must fail, not pass unread.
	if err := decodeStrict(v.RawExpected, &v.Expected); err != nil {
		return fmt.Errorf("expected: %v", err)
	}
	cfg, err := djangoConfig(settings)
	if err != nil {
		return err
	}
	b, err := bulwark.New(cfg)
	if err != nil {
		return fmt.Errorf("New: %v", err)
	}
	viewRan := false
	view := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		viewRan = true
		for k, val := range v.ViewResponseHeaders {
			w.Header().Set(k, val)
		}
		w.WriteHeader(http.StatusOK)
	})
	rec := httptest.NewRecorder()
	b.Handler(view).ServeHTTP(rec, vectorRequest(v, settings))
	res := rec.Result()
	e := v.Expected
	var errs []string
	checkHeaders := true
	switch {
	case e.Raises != "":
		want := e.StatusViaHandler
		if want == 0 {
			want = http.StatusBadRequest
		}
		if res.StatusCode != want || viewRan {
			errs = append(errs, fmt.Sprintf("status %d (view ran: %v), want %d for %s", res.StatusCode, viewRan, want, e.Raises))
		}
		checkHeaders = false
	case e.Redirect != nil:
		if res.StatusCode != e.Redirect.Status || res.Header.Get("Location") != e.Redirect.Location {
			errs = append(errs, fmt.Sprintf("got %d %q, want %d %q", res.StatusCode, res.Header.Get("Location"), e.Redirect.Status, e.Redirect.Location))
		}
		checkHeaders = e.FullCall
	default:
		if res.StatusCode != http.StatusOK || !viewRan {
			errs = append(errs, fmt.Sprintf("status %d (Location %q), want the view's 200", res.StatusCode, res.Header.Get("Location")))
		}
	}
	if checkHeaders {
		for k, want := range e.Headers {
			if got := strings.Join(res.Header.Values(k), ", "); got != want {
				errs = append(errs, fmt.Sprintf("%s = %q, want %q", k, got, want))
			}
		}
		for _, k := range e.HeadersAbsent {
			if got := res.Header.Values(k); len(got) > 0 {
				errs = append(errs, fmt.Sprintf("%s = %q, want absent", k, got))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// decodeStrict decodes one JSON value, refusing keys v has no field for.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
