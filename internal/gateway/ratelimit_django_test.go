package gateway_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

var csrfField = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// djangoLogin signs in through the gateway as a browser does: GET the
// form (CSRF cookie and token), then POST it. It returns the status, the
// Location and the body of the POST's answer.
func djangoLogin(t *testing.T, e *env, path, password string) (int, string, string) {
	t.Helper()
	resp, body := e.get(e.https + path)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
	}
	m := csrfField.FindStringSubmatch(body)
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "csrftoken" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if m == nil || cookie == "" {
		t.Fatalf("no CSRF token in the form (cookie %q): %q", cookie, body)
	}
	form := url.Values{"username": {"alice"}, "password": {password}, "csrfmiddlewaretoken": {m[1]}}
	req, _ := http.NewRequest("POST", e.https+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Origin", e.https)
	req.Header.Set("Referer", e.https+path)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, body = e.do(req)
	return resp.StatusCode, resp.Header.Get("Location"), body
}

// Failed-login mode in front of Django's own LoginView (gunicorn, SQLite):
// sign-ins that succeed (302) never count, the third failure (200, the
// form re-rendered) locks the client out of both login views, and the
// form itself (GET) stays reachable.
func TestRateLimitDjangoLogin(t *testing.T) {
	dj := testsvc.StartGunicorn(t, testsvc.DjangoApp{
		Module:  "loginapp.wsgi:application",
		Workers: 1, // one process creates the database
		Env:     []string{"LOGINAPP_DB=" + filepath.Join(t.TempDir(), "db.sqlite3"), "LOGINAPP_PASSWORD=right-password"},
	})
	rules := rateLimits(t, failedLoginRule)
	e := start(t, nil, func(c *gateway.Config) {
		c.Upstream.URL = dj.URL
		c.Upstream.HealthPath = "/_ready"
		c.RateLimit = rules
	})
	for i := range 5 {
		code, loc, body := djangoLogin(t, e, "/accounts/login/", "right-password")
		if code != http.StatusFound || loc != "/accounts/profile/" {
			t.Fatalf("sign-in %d: %d %q %q\n%s", i, code, loc, body, dj.Log())
		}
	}
	for i := range 3 {
		code, _, body := djangoLogin(t, e, "/accounts/login/", "wrong")
		if code != 200 || !strings.Contains(body, "Wrong username or password.") {
			t.Fatalf("failure %d: %d %q", i, code, body)
		}
	}
	// Locked out, on both views the rule covers, whatever the password;
	// the refusal is the gateway's, Django never sees the attempt.
	for _, try := range []struct{ path, password string }{
		{"/accounts/login/", "wrong"}, {"/accounts/login/", "right-password"}, {"/admin/login/", "right-password"},
	} {
		code, _, body := djangoLogin(t, e, try.path, try.password)
		if code != http.StatusTooManyRequests || body != "Too Many Requests\n" {
			t.Fatalf("%s with %q after 3 failures: %d %q", try.path, try.password, code, body)
		}
	}
	m := metricsText(t, e)
	for _, want := range []string{
		`bulwark_rate_limit_decisions_total{decision="refunded",rule="login"} 5`,
		`bulwark_rate_limit_decisions_total{decision="limited",rule="login"} 3`,
		`bulwark_rate_limit_decisions_total{decision="allowed",rule="login"} 8`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
