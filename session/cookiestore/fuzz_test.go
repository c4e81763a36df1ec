package cookiestore_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session/cookiestore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// fuzzSeeds seals a few sessions with s, so mutations start from valid
// cookies; it also returns the set of values s produced.
func fuzzSeeds(t testing.TB, s *cookiestore.Store) []string {
	var out []string
	for _, data := range []string{"", `{"user":"ada"}`, `{"role":"admin","n":1}`} {
		out = append(out, sessiontest.MustSeal(t, s, sessiontest.Key(), []byte(data), time.Now().Add(time.Hour)))
	}
	return append(out, "", "A", "AAAA", "====")
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	s := newStore(t, cookiestore.Config{Keys: [][]byte{key1}})
	if len(fuzzSeeds(t, s)) < 4 {
		t.Fatal("no fuzz seeds")
	}
}

// FuzzOpen: Open never returns a session for a value the store did not
// seal. The key is random per run, so the only values that can open are
// the seeds sealed here; every mutation of them is a forgery.
func FuzzOpen(f *testing.F) {
	k := make([]byte, 32)
	rand.Read(k)
	s := newStore(f, cookiestore.Config{Keys: [][]byte{k}})
	issued := map[string]bool{}
	for _, v := range fuzzSeeds(f, s) {
		issued[v] = true
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		key, data, found, err := s.Open(context.Background(), v)
		if err != nil {
			t.Fatalf("Open(%q): error %v without a revocation store", v, err)
		}
		if found && !issued[v] {
			t.Fatalf("Open accepted a forged value %q: key %q data %q", v, key, data)
		}
		if !found && (key != "" || data != nil) {
			t.Fatal("data returned for a refused value")
		}
	})
}
