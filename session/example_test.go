package session_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

// Session fixation: an attacker plants their own session id in the
// victim's browser before the victim logs in. Renew at login gives the
// session a new id, so the planted one is worthless.
func Example_fixation() {
	store, _ := memstore.New(memstore.Config{})
	m, _ := session.New(session.Config{Store: store})
	app := http.NewServeMux()
	app.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if err := session.Renew(r); err != nil { // new id on every login
			return
		}
		session.Put(r, "user", "victim")
	})
	app.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		user, ok := session.Get[string](r, "user")
		if !ok {
			user = "(anonymous)"
		}
		io.WriteString(w, user)
	})
	app.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		session.Put(r, "visited", true)
	})
	h := m.Handler(app)

	do := func(method, path, cookie string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "https://example.com"+path, nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: m.CookieName(), Value: cookie})
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	idOf := func(w *httptest.ResponseRecorder) string {
		for _, c := range w.Result().Cookies() {
			return c.Value
		}
		return ""
	}

	planted := idOf(do("GET", "/visit", ""))       // the attacker's own session
	victims := idOf(do("POST", "/login", planted)) // the victim logs in with it
	fmt.Println("id changed at login:", victims != planted)
	fmt.Println("attacker sees:", do("GET", "/me", planted).Body)
	fmt.Println("victim sees:", do("GET", "/me", victims).Body)
	// Output:
	// id changed at login: true
	// attacker sees: (anonymous)
	// victim sees: victim
}
