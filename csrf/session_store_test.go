package csrf_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/session"
)

// downStore is a session store whose every call fails.
type downStore struct{}

func (downStore) Find(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("connection refused")
}
func (downStore) Commit(context.Context, string, []byte, time.Time) error {
	return errors.New("connection refused")
}
func (downStore) Delete(context.Context, string) error { return errors.New("connection refused") }

// TestSessionStoreFailureLoggedOnce checks that a store failure behind
// CSRF_USE_SESSIONS is one session_store_error event: the session manager
// logs it, csrf refuses (503) without logging it again. A SessionSecrets
// that is not the session manager still gets its failure logged by csrf.
func TestSessionStoreFailureLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	lg := slog.New(slog.NewJSONHandler(&buf, nil))
	m, err := session.New(session.Config{Store: downStore{}, Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		sessions csrf.SessionSecrets
		wrap     func(http.Handler) http.Handler
	}{
		{"session manager", m, m.Handler},
		{"other implementation", failingSessions{}, func(h http.Handler) http.Handler { return h }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			p := mustNew(t, csrf.Config{UseSessions: true, Sessions: tt.sessions, Logger: lg})
			c := &counter{}
			r := siteRequest("POST", "/", map[string]string{"Sec-Fetch-Site": "same-origin", "X-CSRFToken": csrf.Mask("lcccccccX2kcccccccY2jcccccccssIC")})
			// A well-formed session cookie, so the store is asked.
			r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: strings.Repeat("A", 43)})
			res := serve(tt.wrap(p.Handler(c)), r)
			if res.StatusCode != 503 || c.n.Load() != 0 {
				t.Fatalf("status %d, calls %d: want 503 and no call", res.StatusCode, c.n.Load())
			}
			if n := strings.Count(buf.String(), `"event":"session_store_error"`); n != 1 {
				t.Errorf("%d session_store_error events, want 1:\n%s", n, buf.String())
			}
			if strings.Contains(buf.String(), "csrf_failure") {
				t.Errorf("store failure logged as a csrf failure:\n%s", buf.String())
			}
		})
	}
}
