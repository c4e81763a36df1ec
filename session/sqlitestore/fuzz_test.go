package sqlitestore_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session/sessiontest"
	"github.com/bulwarkdev/bulwark/session/sqlitestore"
)

func keySeeds() [][2]string {
	hostile := sessiontest.HostileKeys()
	seeds := make([][2]string, 0, len(hostile)+3)
	for i, k := range hostile {
		seeds = append(seeds, [2]string{k, hostile[(i+1)%len(hostile)]})
	}
	return append(seeds,
		[2]string{"abc", "ABC"},
		[2]string{"abc", "abc\x00"},
		[2]string{"", "\x00"},
	)
}

func TestKeySeedsNotEmpty(t *testing.T) {
	if len(keySeeds()) < 10 {
		t.Fatalf("only %d fuzz seeds", len(keySeeds()))
	}
}

// FuzzKeyIsolation: whatever two keys an attacker picks, each reaches only
// its own record. Keys are bound as BLOBs, never spliced into SQL, and
// compared byte for byte.
func FuzzKeyIsolation(f *testing.F) {
	for _, s := range keySeeds() {
		f.Add(s[0], s[1])
	}
	s, err := sqlitestore.Open(filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	ctx := context.Background()
	live := time.Now().Add(time.Hour)
	f.Fuzz(func(t *testing.T, k1, k2 string) {
		if k1 == k2 {
			return
		}
		if err := s.Commit(ctx, k1, []byte("one:"+k1), live); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, k2, []byte("two:"+k2), live); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ k, want string }{{k1, "one:" + k1}, {k2, "two:" + k2}} {
			got, found, err := s.Find(ctx, c.k)
			if err != nil || !found || !bytes.Equal(got, []byte(c.want)) {
				t.Fatalf("Find(%q) = %q, %v, %v; want %q", c.k, got, found, err, c.want)
			}
		}
		if err := s.Delete(ctx, k1); err != nil {
			t.Fatal(err)
		}
		if _, found, err := s.Find(ctx, k1); err != nil || found {
			t.Fatalf("Find(%q) after Delete = %v, %v", k1, found, err)
		}
		if _, found, err := s.Find(ctx, k2); err != nil || !found {
			t.Fatalf("Delete(%q) reached %q: Find = %v, %v", k1, k2, found, err)
		}
		s.Delete(ctx, k2)
	})
}
