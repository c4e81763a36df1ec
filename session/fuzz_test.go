package session_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

func cookieSeeds(id string) []string {
	return []string{id, id[:42], id + "A", strings.ToUpper(id), `"` + id + `"`, "", "abc", strings.Repeat("A", 43), id + ";" + id}
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if len(cookieSeeds(strings.Repeat("x", 43))) == 0 || len(recordSeeds()) == 0 {
		t.Fatal("no fuzz seeds")
	}
}

// FuzzSessionCookie: whatever the cookie holds, the handler sees the
// user's session only for the exact id that was issued, and a cookie that
// is not that id is never echoed back as the session's id (fixation).
func FuzzSessionCookie(f *testing.F) {
	h := newHarness(f, nil)
	id := sessionCookie(f, h.do("POST", "", login("ada")), h.m.CookieName())
	for _, s := range cookieSeeds(id) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		if strings.ContainsAny(cookie, "\r\n\x00") {
			return // not a header value net/http would deliver
		}
		var user string
		req, _ := http.NewRequest("POST", "https://example.com/", nil)
		req.Header.Set("Cookie", h.m.CookieName()+"="+cookie)
		rec := &discard{h: http.Header{}}
		h.m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, _ = session.Get[string](r, "user")
			session.Put(r, "seen", 1)
		})).ServeHTTP(rec, req)
		// The value the browser sent for our name: up to the first ';'
		// (the rest is other cookies), without surrounding quotes.
		got := strings.Trim(strings.SplitN(cookie, ";", 2)[0], " \t")
		if len(got) >= 2 && got[0] == '"' && got[len(got)-1] == '"' {
			got = got[1 : len(got)-1]
		}
		if user != "" && got != id {
			t.Fatalf("cookie %q opened the session of %q", cookie, user)
		}
		for _, sc := range rec.h["Set-Cookie"] {
			val := strings.TrimPrefix(strings.SplitN(sc, ";", 2)[0], h.m.CookieName()+"=")
			if user == "" && val == got && got != "" {
				t.Fatalf("planted id %q adopted", cookie)
			}
		}
	})
}

func recordSeeds() [][]byte {
	return [][]byte{
		{1, 0x80, 0xa0, 0xd8, 0xaa, 0x06, 0x80, 0xa0, 0xd8, 0xaa, 0x06, 0, 1, 4, 'u', 's', 'e', 'r', 5, '"', 'a', 'd', 'a', '"'},
		{1, 0, 0, 0, 0},
		{1, 0, 0, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02},
		{2},
		{},
	}
}

// FuzzStoredRecord: whatever bytes a store returns (a corrupted row, a
// record from another version), the manager neither panics nor serves a
// session that is not well formed: it reads as empty or as exactly what
// can be read back.
func FuzzStoredRecord(f *testing.F) {
	for _, s := range recordSeeds() {
		f.Add(s)
	}
	now := time.Unix(1_700_000_000, 0)
	id := strings.Repeat("Q", 43)
	sum := sha256.Sum256([]byte(id))
	key := base64.RawURLEncoding.EncodeToString(sum[:])
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, _ := memstore.New(memstore.Config{Now: func() time.Time { return now }})
		ms.Commit(context.Background(), key, data, now.Add(time.Hour))
		m, _ := session.New(session.Config{Store: ms, Now: func() time.Time { return now }})
		req, _ := http.NewRequest("GET", "https://example.com/", nil)
		req.Header.Set("Cookie", m.CookieName()+"="+id)
		m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, k := range session.Keys(r) {
				if !session.Has(r, k) {
					t.Fatalf("key %q listed but absent", k)
				}
			}
		})).ServeHTTP(&discard{h: http.Header{}}, req)
	})
}
