package session_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

// TestRealClockExpiry runs the default clock (time.Now in the manager and
// the store) in a synctest bubble: idle and absolute expiry hold with real
// time, with no clock injected anywhere.
func TestRealClockExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store, _ := memstore.New(memstore.Config{})
		m, err := session.New(session.Config{Store: store, IdleTimeout: 30 * time.Minute, Lifetime: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{m: m}
		id := sessionCookie(t, h.do("POST", "", login("ada")), m.CookieName())
		for range 4 { // 4 × 25 min of activity: idle never reached
			time.Sleep(25 * time.Minute)
			if u := body(h.do("GET", id, whoami)); u != "ada" {
				t.Fatal("active session expired")
			}
		}
		time.Sleep(25 * time.Minute) // 125 min: past the 2 h lifetime
		if u := body(h.do("GET", id, whoami)); u != "" {
			t.Fatal("session outlived its lifetime")
		}
		id = sessionCookie(t, h.do("POST", "", login("bob")), m.CookieName())
		time.Sleep(31 * time.Minute)
		res := h.do("GET", id, whoami)
		if u := body(res); u != "" {
			t.Fatal("idle session still alive")
		}
		if res.Header.Get("Set-Cookie") == "" {
			t.Fatal("expired session's cookie not deleted")
		}
	})
}
