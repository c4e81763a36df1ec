package cookiestore_test

import (
	"bytes"
	"testing"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/cookiestore"
	"github.com/bulwarkdev/bulwark/session/memstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

func newStore(t testing.TB, c cookiestore.Config) *cookiestore.Store {
	t.Helper()
	s, err := cookiestore.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.RunCookieStore(t, sessiontest.CookieStoreSuite{
		New: func(t *testing.T) session.CookieStore { return newStore(t, cookiestore.Config{Keys: [][]byte{key1}}) },
	})
}

func TestConformanceWithRevocation(t *testing.T) {
	sessiontest.RunCookieStore(t, sessiontest.CookieStoreSuite{
		Revokes: true,
		New: func(t *testing.T) session.CookieStore {
			ms, _ := memstore.New(memstore.Config{})
			return newStore(t, cookiestore.Config{Keys: [][]byte{key1}, Revocations: ms})
		},
	})
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]cookiestore.Config{
		"no keys":    {},
		"short key":  {Keys: [][]byte{[]byte("short")}},
		"huge limit": {Keys: [][]byte{key1}, MaxValueSize: 5000},
		"negative":   {Keys: [][]byte{key1}, MaxValueSize: -1},
	} {
		if _, err := cookiestore.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestRotation: the new key seals, old keys still open; a dropped key's
// cookies no longer open.
func TestRotation(t *testing.T) {
	old := newStore(t, cookiestore.Config{Keys: [][]byte{key1}})
	rotated := newStore(t, cookiestore.Config{Keys: [][]byte{key2, key1}})
	onlyNew := newStore(t, cookiestore.Config{Keys: [][]byte{key2}})
	k := sessiontest.Key()
	v := sessiontest.MustSeal(t, old, k, []byte("x"), sessiontest.Live())
	sessiontest.MustOpen(t, rotated, v, k, []byte("x"))
	sessiontest.MustNotOpen(t, onlyNew, v)
	w := sessiontest.MustSeal(t, rotated, k, []byte("y"), sessiontest.Live())
	sessiontest.MustOpen(t, onlyNew, w, k, []byte("y"))
	sessiontest.MustNotOpen(t, old, w)
}
