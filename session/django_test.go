package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cookie"
	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

type vec map[string]json.RawMessage

func (v vec) has(k string) bool { _, ok := v[k]; return ok && string(v[k]) != "null" }
func (v vec) str(k string) string {
	var s string
	json.Unmarshal(v[k], &s)
	return s
}

// djangoNow is the frozen time of the vectors.
var djangoNow = time.Unix(1700000000, 0)

func TestDjangoCookiesSessions(t *testing.T) {
	vectors.Run(t, "cookies_sessions.json", func(_ string, raw map[string]json.RawMessage) func() error {
		v := vec(raw)
		switch {
		case v.has("calls"):
			return func() error { return checkCookieCalls(v) }
		case v.has("scenario"):
			return func() error { return checkMiddleware(v) }
		case v.has("assigned_key") || v["assigned_key"] != nil || v.has("key"):
			return func() error { return checkKey(v) }
		case v.has("set_expiry") || v["set_expiry"] != nil:
			return func() error { return checkExpiry(v) }
		}
		// A vector of a kind this harness cannot interpret fails: it must
		// never pass unread.
		return func() error {
			keys := make([]string, 0, len(raw))
			for k := range raw {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return fmt.Errorf("vector not understood by the harness (keys %q)", keys)
		}
	})
}

// --- set_cookie / delete_cookie through the Django-style cookie jar ---

func checkCookieCalls(v vec) error {
	var calls []struct {
		Method string                     `json:"method"`
		Args   []string                   `json:"args"`
		Kwargs map[string]json.RawMessage `json:"kwargs"`
	}
	json.Unmarshal(v["calls"], &calls)
	jar := &cookie.Jar{Now: func() time.Time { return djangoNow }}
	var err error
	var name string
	for _, c := range calls {
		name = c.Args[0]
		value := ""
		if len(c.Args) > 1 {
			value = c.Args[1]
		}
		switch c.Method {
		case "set_cookie":
			var o cookie.Options
			if o, err = cookieOptions(c.Kwargs); err == nil {
				err = jar.SetCookie(name, value, o)
			}
		case "delete_cookie":
			path := "/"
			if p, ok := c.Kwargs["path"]; ok {
				json.Unmarshal(p, &path)
			}
			var domain, samesite string
			json.Unmarshal(c.Kwargs["domain"], &domain)
			json.Unmarshal(c.Kwargs["samesite"], &samesite)
			err = jar.DeleteCookie(name, path, domain, samesite)
		default:
			return fmt.Errorf("unknown call %q", c.Method)
		}
		if err != nil {
			break
		}
	}
	if v.has("expected_error") {
		if err == nil || !strings.Contains(err.Error(), strings.TrimSuffix(v.str("expected_error"), ".")) {
			return fmt.Errorf("error %v, want %s", err, v.str("expected_error"))
		}
		return nil
	}
	if err != nil {
		return err
	}
	c, _ := jar.Get(name)
	if v.has("expected_set_cookie_header") {
		if got := "Set-Cookie: " + c.String(); got != v.str("expected_set_cookie_header") {
			return fmt.Errorf("header %q, want %q", got, v.str("expected_set_cookie_header"))
		}
	}
	if v.has("expected_morsel") {
		return compareMorsel(morselOf(c), v["expected_morsel"])
	}
	return nil
}

func cookieOptions(kw map[string]json.RawMessage) (cookie.Options, error) {
	o := cookie.Options{Path: cookie.Root()}
	for k, raw := range kw {
		if string(raw) == "null" {
			if k == "path" {
				o.Path = nil
			}
			continue
		}
		switch k {
		case "max_age":
			d := seconds(raw)
			o.MaxAge = &d
		case "expires":
			// A string is used verbatim; a datetime comes as an ISO string
			// or an object such as {"datetime": "2023-11-14T22:13:20"}
			// (naive means UTC, as in Django).
			var s string
			if json.Unmarshal(raw, &s) == nil {
				if t, ok := isoTime(s); ok {
					o.ExpiresAt = t
				} else {
					o.Expires = s
				}
				continue
			}
			var obj map[string]string
			json.Unmarshal(raw, &obj)
			for _, v := range obj {
				if t, ok := isoTime(v); ok {
					o.ExpiresAt = t
				}
			}
			if o.ExpiresAt.IsZero() {
				return o, fmt.Errorf("unreadable expires %s", raw)
			}
		case "path":
			var s string
			json.Unmarshal(raw, &s)
			o.Path = &s
		case "domain":
			json.Unmarshal(raw, &o.Domain)
		case "secure":
			o.Secure = truthy(raw)
		case "httponly":
			o.HttpOnly = truthy(raw)
		case "samesite":
			json.Unmarshal(raw, &o.SameSite) // false: stays "" (omitted)
		default:
			return o, fmt.Errorf("unknown set_cookie argument %q", k)
		}
	}
	return o, nil
}

// isoTime parses Python's isoformat, with or without a zone.
func isoTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02 15:04:05.999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func truthy(raw json.RawMessage) bool {
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s != ""
}

// seconds reads N, N.M or {"timedelta_seconds": N}.
func seconds(raw json.RawMessage) time.Duration {
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		var td struct {
			TimedeltaSeconds float64 `json:"timedelta_seconds"`
		}
		json.Unmarshal(raw, &td)
		f = td.TimedeltaSeconds
	}
	return time.Duration(f * float64(time.Second))
}

// morsel is a cookie's attributes as Python's Morsel keys them; "" means
// absent, as in the vectors.
type morsel map[string]any

func morselOf(c *cookie.Cookie) morsel {
	m := morsel{"value": c.Value, "domain": c.Domain, "expires": c.Expires, "path": c.Path, "samesite": c.SameSite, "secure": "", "httponly": "", "max-age": ""}
	if c.Secure {
		m["secure"] = true
	}
	if c.HttpOnly {
		m["httponly"] = true
	}
	if c.HasMaxAge {
		m["max-age"] = float64(c.MaxAge)
	}
	return m
}

// parseSetCookie reads a Set-Cookie header value back into a morsel.
func parseSetCookie(h string) morsel {
	parts := strings.Split(h, "; ")
	nv := strings.SplitN(parts[0], "=", 2)
	m := morsel{"name": nv[0], "value": strings.Trim(nv[1], `"`), "domain": "", "expires": "", "path": "", "samesite": "", "secure": "", "httponly": "", "max-age": ""}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		switch k = strings.ToLower(k); k {
		case "secure", "httponly":
			m[k] = true
		case "max-age":
			n, _ := strconv.Atoi(val)
			m[k] = float64(n)
		default:
			m[k] = val
		}
	}
	return m
}

func compareMorsel(got morsel, want json.RawMessage) error {
	var w map[string]any
	json.Unmarshal(want, &w)
	for k, wv := range w {
		if fmt.Sprint(got[k]) != fmt.Sprint(wv) {
			return fmt.Errorf("%s = %v, want %v (cookie %v)", k, got[k], wv, got)
		}
	}
	return nil
}

// --- the session middleware ---

// recordingStore wraps a memstore and records the calls the manager made.
type recordingStore struct {
	*memstore.Store
	commits []time.Time // expiries
	deletes int
}

func (s *recordingStore) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	s.commits = append(s.commits, expiry)
	return s.Store.Commit(ctx, key, data, expiry)
}

func (s *recordingStore) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	s.commits = append(s.commits, expiry)
	return s.Store.Update(ctx, key, data, expiry)
}

func (s *recordingStore) Delete(ctx context.Context, key string) error {
	s.deletes++
	return s.Store.Delete(ctx, key)
}

// djangoManager builds a Manager for the vector's settings, over an
// in-memory store that records what it is asked, on the vectors' clock.
func djangoManager(v vec) (*session.Manager, *recordingStore, error) {
	var settings map[string]json.RawMessage
	json.Unmarshal(v["settings"], &settings)
	ms, _ := memstore.New(memstore.Config{Now: func() time.Time { return djangoNow }})
	store := &recordingStore{Store: ms}
	cfg, err := djangoConfig(settings, store)
	if err != nil {
		return nil, nil, err
	}
	m, err := session.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	return m, store, nil
}

// djangoConfig maps Django settings onto a Config with Django's defaults
// (which are weaker than Bulwark's: no Secure, name "sessionid").
func djangoConfig(settings map[string]json.RawMessage, store session.Store) (session.Config, error) {
	c := session.Config{
		Store:  store,
		Now:    func() time.Time { return djangoNow },
		Cookie: session.CookieConfig{Name: "sessionid", AllowInsecureCookie: true},
	}
	for k, raw := range settings {
		switch k {
		case "SESSION_COOKIE_SECURE":
			c.Cookie.AllowInsecureCookie = !truthy(raw)
		case "SESSION_COOKIE_HTTPONLY":
			c.Cookie.AllowInsecureScriptAccess = !truthy(raw)
		case "SESSION_COOKIE_SAMESITE":
			if !truthy(raw) {
				c.Cookie.AllowInsecureNoSameSite = true
			} else {
				json.Unmarshal(raw, &c.Cookie.SameSite)
			}
		case "SESSION_COOKIE_DOMAIN":
			json.Unmarshal(raw, &c.Cookie.Domain)
		case "SESSION_COOKIE_PATH":
			json.Unmarshal(raw, &c.Cookie.Path)
		case "SESSION_COOKIE_NAME":
			json.Unmarshal(raw, &c.Cookie.Name)
		case "SESSION_COOKIE_AGE":
			c.Lifetime = seconds(raw)
		case "SESSION_SAVE_EVERY_REQUEST":
			c.SaveEveryRequest = truthy(raw)
		case "SESSION_EXPIRE_AT_BROWSER_CLOSE":
			c.BrowserSession = truthy(raw)
		default:
			return c, fmt.Errorf("unknown setting %s", k)
		}
	}
	return c, nil
}

var (
	reStatus = regexp.MustCompile(`returns status (\d+)`)
	reExpiry = regexp.MustCompile(`set_expiry\((\d+)\)`)
)

// scenario is a vector's scenario sentence read as: what the request
// carries; what the view does.
type scenario struct {
	cookie string // "plain": cookie=<value>; "valid": a live session; "unknown": a well-formed unknown id; "": none
	value  string
	write  bool
	read   bool
	flush  bool
	renew  bool
	expiry int // -1: none
	status int
}

var reCookie = regexp.MustCompile(`has cookie (\w+)=([^\s;,]+)`)

func parseScenario(s string) (scenario, error) {
	sc := scenario{expiry: -1, status: 200}
	low := strings.ToLower(s)
	switch {
	case strings.Contains(low, "no session cookie"):
	case strings.Contains(low, "valid non-empty session"), strings.Contains(low, "valid session"):
		sc.cookie = "valid"
	case strings.Contains(low, "unknown session key"), strings.Contains(low, "expired session"):
		sc.cookie = "unknown"
	case strings.Contains(low, "has cookie "):
		m := reCookie.FindStringSubmatch(s)
		if m == nil {
			return sc, fmt.Errorf("unreadable cookie in scenario %q", s)
		}
		sc.cookie, sc.value = "plain", m[2]
	}
	i := strings.Index(low, "view")
	if i < 0 {
		return sc, fmt.Errorf("scenario %q says nothing about the view", s)
	}
	view := low[i:]
	known := false
	if strings.Contains(view, "flush()") {
		sc.flush, known = true, true
	}
	if strings.Contains(view, "cycle_key()") {
		sc.renew, known = true, true
	}
	if strings.Contains(view, "sets session[") || strings.Contains(view, "sets data") || strings.Contains(view, "modifies") {
		sc.write, known = true, true
	}
	if m := reExpiry.FindStringSubmatch(view); m != nil {
		sc.expiry, _ = strconv.Atoi(m[1])
		known = true
	}
	if strings.Contains(view, "reads") {
		sc.read, known = true, true
	}
	if strings.Contains(view, "does not touch") {
		known = true
	}
	if !known {
		return sc, fmt.Errorf("unknown view action in %q", s)
	}
	if m := reStatus.FindStringSubmatch(view); m != nil {
		sc.status, _ = strconv.Atoi(m[1])
	}
	return sc, nil
}

func checkMiddleware(v vec) error {
	m, store, err := djangoManager(v)
	if err != nil {
		return err
	}
	sc, err := parseScenario(v.str("scenario"))
	if err != nil {
		return err
	}
	req := httptest.NewRequest("GET", "/", nil)
	switch sc.cookie {
	case "plain":
		req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: sc.value})
	case "unknown":
		sc.value = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: sc.value})
	case "valid":
		setup := serve(m, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {
			session.Put(r, "existing", "data")
		})
		c := setup.Result().Cookies()
		if len(c) != 1 {
			return fmt.Errorf("setup: no session cookie")
		}
		sc.value = c[0].Value
		req.AddCookie(c[0])
	}
	store.commits = nil
	rec := serve(m, req, func(w http.ResponseWriter, r *http.Request) {
		if sc.read {
			session.Get[string](r, "hello")
		}
		if sc.flush {
			session.Flush(r)
		}
		if sc.renew {
			session.Renew(r)
		}
		if sc.write {
			session.Put(r, "hello", 1)
		}
		if sc.expiry >= 0 {
			session.SetExpiry(r, djangoExpiry(sc.expiry))
		}
		w.WriteHeader(sc.status)
	})
	return compareMiddleware(v, rec, store, sc)
}

// djangoExpiry maps set_expiry(N): 0 is "at browser close", N > 0 is N
// seconds of inactivity.
func djangoExpiry(n int) session.Expiry {
	if n == 0 {
		return session.Expiry{BrowserSession: true}
	}
	return session.Expiry{Idle: time.Duration(n) * time.Second}
}

func serve(m *session.Manager, r *http.Request, h http.HandlerFunc) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	m.Handler(h).ServeHTTP(rec, r)
	return rec
}

func compareMiddleware(v vec, rec *httptest.ResponseRecorder, store *recordingStore, sc scenario) error {
	var want map[string]json.RawMessage
	json.Unmarshal(v["expected"], &want)
	setCookies := rec.Header().Values("Set-Cookie")
	var got morsel
	if len(setCookies) > 0 {
		got = parseSetCookie(setCookies[0])
	}
	for k, raw := range want {
		var err error
		switch k {
		case "vary":
			var w *string
			json.Unmarshal(raw, &w)
			vary := strings.Join(rec.Header().Values("Vary"), ", ")
			if w == nil && vary != "" || w != nil && vary != *w {
				err = fmt.Errorf("Vary %q, want %s", vary, raw)
			}
		case "set_cookie":
			if truthy(raw) != (len(setCookies) > 0) {
				err = fmt.Errorf("Set-Cookie %q, want set=%s", setCookies, raw)
			}
		case "session_saved":
			if truthy(raw) != (len(store.commits) > 0) {
				err = fmt.Errorf("%d saves, want saved=%s", len(store.commits), raw)
			}
		case "set_cookie_header":
			var w string
			json.Unmarshal(raw, &w)
			if len(setCookies) != 1 || "Set-Cookie: "+setCookies[0] != w {
				err = fmt.Errorf("Set-Cookie %q, want %q", setCookies, w)
			}
		case "status":
			var code int
			json.Unmarshal(raw, &code)
			if rec.Code != code {
				err = fmt.Errorf("status %d, want %d", rec.Code, code)
			}
		case "cookie":
			if got == nil {
				err = errors.New("no cookie set")
			} else {
				err = compareMorsel(got, raw)
			}
		case "session_key_regex":
			var re string
			json.Unmarshal(raw, &re)
			if got == nil || !regexp.MustCompile(re).MatchString(fmt.Sprint(got["value"])) {
				err = fmt.Errorf("session key %v does not match %s", got["value"], re)
			}
		case "new_session_key_differs_from_cookie":
			if got == nil || (got["value"] == sc.value) == truthy(raw) {
				err = fmt.Errorf("session key %v, cookie was %q", got["value"], sc.value)
			}
		default:
			attr, ok := strings.CutPrefix(k, "cookie_") // cookie_secure, cookie_max_age...
			switch {
			case !ok:
				err = fmt.Errorf("unknown expectation %q", k)
			case got == nil:
				err = errors.New("no cookie set")
			default:
				err = compareMorsel(got, json.RawMessage(fmt.Sprintf(`{%q:%s}`, strings.ReplaceAll(attr, "_", "-"), raw)))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// --- session keys and expiry ---

// checkKey: Django accepts any assigned key of 8+ characters; a key from a
// cookie that is not a well-formed id is never used. Replayed as a cookie
// through the manager: the session created by a write must carry that key
// exactly when Django would keep it.
func checkKey(v vec) error {
	ms, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: ms, Cookie: session.CookieConfig{Name: "sessionid", AllowInsecureCookie: true}})
	key := v.str("assigned_key")
	if v.has("key") {
		key = v.str("key")
	}
	// Make the key exist in the store, as a planted or guessed id would.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "sessionid="+key)
	rec := serve(m, req, func(w http.ResponseWriter, r *http.Request) { session.Put(r, "a", 1) })
	got := parseSetCookie(rec.Header().Get("Set-Cookie"))["value"]
	kept := got == key
	switch {
	case v.has("expected_error"):
		if kept {
			return fmt.Errorf("invalid key %q was used", key)
		}
	case v["expected_session_key"] != nil && string(v["expected_session_key"]) == "null":
		if kept {
			return fmt.Errorf("key %q was used, Django drops it", key)
		}
	default:
		if !kept {
			return fmt.Errorf("key %q not kept (got %v)", key, got)
		}
	}
	return nil
}

// checkExpiry: get_expire_at_browser_close and get_expiry_age, observed
// on the cookie (no Max-Age at browser close) and the store's expiry.
func checkExpiry(v vec) error {
	m, store, err := djangoManager(v)
	if err != nil {
		return err
	}
	rec := serve(m, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "a", 1)
		if string(v["set_expiry"]) != "null" {
			var n int
			json.Unmarshal(v["set_expiry"], &n)
			session.SetExpiry(r, djangoExpiry(n))
		}
	})
	c := parseSetCookie(rec.Header().Get("Set-Cookie"))
	if raw, ok := v["expected_expire_at_browser_close"]; ok {
		if atClose := c["max-age"] == ""; atClose != truthy(raw) {
			return fmt.Errorf("browser-session cookie = %v, want %s (cookie %v)", atClose, raw, c)
		}
	}
	if raw, ok := v["expected_expiry_age"]; ok {
		want := seconds(raw)
		if len(store.commits) != 1 || store.commits[0].Sub(djangoNow) != want {
			return fmt.Errorf("store expiry %v, want now+%v", store.commits, want)
		}
	}
	return nil
}
