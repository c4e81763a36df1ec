package sqlitestore_test

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/session"
)

// Through the session manager, the database holds no session id: a copy of
// the file (a backup, a stolen disk) gives no cookie to replay.
func TestManagerStoresNoSessionID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	store := open(t, path)
	m, err := session.New(session.Config{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := session.Put(r, "user", "alice"); err != nil {
			t.Error(err)
		}
	}))
	var ids []string
	for range 3 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "https://example.com/login", nil))
		for _, c := range w.Result().Cookies() {
			if c.Name == m.CookieName() {
				ids = append(ids, c.Value)
			}
		}
	}
	if len(ids) != 3 {
		t.Fatalf("got %d session cookies, want 3", len(ids))
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT key, data FROM bulwark_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key, data []byte
		if err := rows.Scan(&key, &data); err != nil {
			t.Fatal(err)
		}
		n++
		for _, id := range ids {
			if strings.Contains(string(key), id) || strings.Contains(string(data), id) {
				t.Errorf("the database holds session id %q (row key %q)", id, key)
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
}
