package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
)

// TTL is the lifetime the suite gives records it expects to see expire.
// It is far above the granularity of every store in this module
// (nanoseconds for SQLite, microseconds for PostgreSQL, milliseconds for
// Redis) and short enough to keep the suite fast.
const TTL = 150 * time.Millisecond

// Live is an expiry far enough in the future that a record committed with it
// outlives any test.
func Live() time.Time { return time.Now().Add(time.Hour) }

// Key returns a fresh random key shaped like the ones the session manager
// passes to stores: an opaque, unguessable string (43 characters of
// unpadded URL-safe base64, 256 bits).
func Key() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HostileKeys returns keys an attacker could try to smuggle into a store
// query if a store ever built queries from keys: SQL and Redis
// metacharacters, glob patterns, protocol line breaks, NUL bytes, invalid
// UTF-8 and the like. A store must treat each as an opaque string: storing
// and finding under it works, and it never matches another key. Each is at
// most 256 bytes.
func HostileKeys() []string {
	return []string{
		"'",
		"' OR '1'='1",
		"'; DROP TABLE sessions; --",
		"\"; DELETE FROM sessions; --",
		"key; --",
		"/* comment */",
		"*",
		"?",
		"[a-z]*",
		"\\",
		"%",
		"_",
		"\r\nFLUSHALL\r\n",
		"*1\r\n$8\r\nFLUSHALL\r\n",
		"a\x00b",
		"\x00",
		"\xff\xfe\xfd",
		"\x80",
		" ",
		"\t",
		"$1",
		"?1",
		":name",
		"{hashtag}",
		"bulwark:session:*",
		"../../../../etc/passwd",
		"日本語のキー",
		strings.Repeat("k", 256),
	}
}

// Run runs the conformance suite as subtests of t. newStore must return a
// store that is empty and used by nothing else (its own table, key prefix
// or file), and that stays usable until the test t it is given ends (use
// t.Cleanup to release it); the suite calls it once per subtest. Stores
// that implement [session.Purger] are also checked to purge exactly the
// expired records, and stores that implement [session.Updater] to update
// only live records.
func Run(t *testing.T, newStore func(t *testing.T) session.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s session.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"OverwriteWithPastExpiry", testOverwriteWithPastExpiry},
		{"Expiry", testExpiry},
		{"PastExpiry", testPastExpiry},
		{"Delete", testDelete},
		{"DeleteUnknown", testDeleteUnknown},
		{"RenewKeepsDataUnderNewKey", testRenew},
		{"UnknownKeys", testUnknownKeys},
		{"HostileKeys", testHostileKeys},
		{"KeysAreExact", testKeysAreExact},
		{"ConcurrentWriters", testConcurrent},
		{"LargeValue", testLargeValue},
		{"EmptyValue", testEmptyValue},
		{"BinaryValue", testBinaryValue},
		{"CancelledContext", testCancelled},
		{"ExpiredContext", testDeadline},
		{"CommitCopiesData", testCommitCopies},
		{"FindReturnsCopy", testFindCopies},
		{"Purge", testPurge},
		{"UpdateExisting", testUpdateExisting},
		{"UpdateMissing", testUpdateMissing},
		{"UpdateAfterDelete", testUpdateAfterDelete},
		{"UpdateAfterExpiry", testUpdateAfterExpiry},
		{"UpdateWithPastExpiry", testUpdateWithPastExpiry},
		{"UpdateHostileKeys", testUpdateHostileKeys},
		{"UpdateCopiesData", testUpdateCopies},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tt.fn(t, s)
		})
	}
}

// MustCommit commits data under key and fails the test on error.
func MustCommit(t testing.TB, s session.Store, key string, data []byte, expiry time.Time) {
	t.Helper()
	if err := s.Commit(context.Background(), key, data, expiry); err != nil {
		t.Fatalf("Commit(%q): %v", trim(key), err)
	}
}

// MustFind finds key, fails the test on a store error or when the record is
// missing, and returns its data.
func MustFind(t testing.TB, s session.Store, key string) []byte {
	t.Helper()
	data, found, err := s.Find(context.Background(), key)
	if err != nil {
		t.Fatalf("Find(%q): %v", trim(key), err)
	}
	if !found {
		t.Fatalf("Find(%q): not found, want found", trim(key))
	}
	return data
}

// MustNotFind fails the test unless Find reports key as not found with a nil
// error.
func MustNotFind(t testing.TB, s session.Store, key string) {
	t.Helper()
	data, found, err := s.Find(context.Background(), key)
	if err != nil {
		t.Fatalf("Find(%q): %v, want not found and no error", trim(key), err)
	}
	if found {
		t.Fatalf("Find(%q) = %q, found; want not found", trim(key), trim(string(data)))
	}
}

// MustFailClosed checks a store whose backend has failed (closed, dropped
// or unreachable): Find of key must report an error and not found, and
// Commit, Delete and, where the store implements them, Update and Purge
// must report errors. Every error must start with prefix (the store's
// "pkg: ") and must not contain key, since the session manager logs store
// errors. key may have been committed before the backend failed, to show
// that an existing session is not mistaken for a missing one.
func MustFailClosed(t testing.TB, s session.Store, key, prefix string) {
	t.Helper()
	ctx := context.Background()
	_, found, err := s.Find(ctx, key)
	if err == nil || found {
		t.Fatalf("Find on a failed backend = found %v, error %v; want not found and an error", found, err)
	}
	errs := map[string]error{"Find": err, "Commit": s.Commit(ctx, key, []byte("v"), Live()), "Delete": s.Delete(ctx, key)}
	if u, ok := s.(session.Updater); ok {
		_, errs["Update"] = u.Update(ctx, key, []byte("v"), Live())
	}
	if p, ok := s.(session.Purger); ok {
		_, errs["Purge"] = p.Purge(ctx)
	}
	for op, err := range errs {
		switch {
		case err == nil:
			t.Errorf("%s on a failed backend: nil error", op)
		case !strings.HasPrefix(err.Error(), prefix):
			t.Errorf("%s: error %q lacks the prefix %q", op, err, prefix)
		case strings.Contains(err.Error(), key):
			t.Errorf("%s: error %q contains the key", op, err)
		}
	}
}

// MustNotLog runs every operation of s (Commit, Find, Delete and, where
// the store implements them, Update and Purge) on live and expired
// records while the default slog logger, and through it the log package,
// write into a buffer, and fails if anything was written: a store that
// logs could leak session ids. The loggers are restored afterwards. It
// changes process-wide state, so do not call it from parallel tests.
func MustNotLog(t testing.TB, s session.Store) {
	t.Helper()
	var buf lockedBuffer
	oldLogger, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	// SetDefault also sends the log package's output to the handler; going
	// back to the original default handler does not undo that, hence the
	// explicit restore of the log package.
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() {
		slog.SetDefault(oldLogger)
		log.SetOutput(oldOut)
		log.SetFlags(oldFlags)
	}()
	ctx := context.Background()
	k := Key()
	MustCommit(t, s, k, []byte("x"), Live())
	MustFind(t, s, k)
	if u, ok := s.(session.Updater); ok {
		if _, err := u.Update(ctx, k, []byte("y"), Live()); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	if err := s.Delete(ctx, k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	MustCommit(t, s, k, []byte("x"), time.Now().Add(-time.Second))
	MustNotFind(t, s, k)
	if p, ok := s.(session.Purger); ok {
		if _, err := p.Purge(ctx); err != nil {
			t.Fatalf("Purge: %v", err)
		}
	}
	if out := buf.String(); out != "" {
		t.Fatalf("the store logged: %s", out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of
// loggers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// trim keeps failure messages readable for long keys and values.
func trim(s string) string {
	if len(s) > 64 {
		return fmt.Sprintf("%s...(%d bytes)", s[:64], len(s))
	}
	return s
}

func wantData(t *testing.T, s session.Store, key string, want []byte) {
	t.Helper()
	got := MustFind(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("Find(%q) = %q, want %q", trim(key), trim(string(got)), trim(string(want)))
	}
}

func testRoundTrip(t *testing.T, s session.Store) {
	k := Key()
	MustCommit(t, s, k, []byte(`{"user":42}`), Live())
	wantData(t, s, k, []byte(`{"user":42}`))
	// Reading does not consume the record.
	wantData(t, s, k, []byte(`{"user":42}`))
}

func testOverwrite(t *testing.T, s session.Store) {
	k := Key()
	MustCommit(t, s, k, []byte("first value, the longer one"), Live())
	MustCommit(t, s, k, []byte("second"), Live())
	wantData(t, s, k, []byte("second"))
}

// A commit replaces the expiry too: a record re-committed with an expiry in
// the past must not stay live under its old expiry (logout relies on this
// when a store is used that way).
func testOverwriteWithPastExpiry(t *testing.T, s session.Store) {
	k := Key()
	MustCommit(t, s, k, []byte("live"), Live())
	MustCommit(t, s, k, []byte("dead"), time.Now().Add(-time.Second))
	MustNotFind(t, s, k)
}

// commitShort commits data under key with an expiry TTL from now and checks
// that it is found before that expiry. On a machine so loaded that the
// check itself outlived the TTL, it retries with a longer one rather than
// report a false failure. It returns the expiry used.
func commitShort(t *testing.T, s session.Store, key string, data []byte) time.Time {
	t.Helper()
	ttl := TTL
	for try := 0; ; try++ {
		expiry := time.Now().Add(ttl)
		MustCommit(t, s, key, data, expiry)
		got, found, err := s.Find(context.Background(), key)
		if err != nil {
			t.Fatalf("Find(%q): %v", trim(key), err)
		}
		if time.Now().Before(expiry) {
			if !found {
				t.Fatalf("Find(%q) before expiry: not found", trim(key))
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("Find(%q) = %q, want %q", trim(key), got, data)
			}
			return expiry
		}
		if try == 3 {
			t.Fatalf("Commit and Find took longer than %v", ttl)
		}
		ttl *= 4
	}
}

// sleepPast sleeps until a little after expiry.
func sleepPast(expiry time.Time) {
	time.Sleep(time.Until(expiry) + 25*time.Millisecond)
}

func testExpiry(t *testing.T, s session.Store) {
	k, live := Key(), Key()
	MustCommit(t, s, live, []byte("live"), Live())
	expiry := commitShort(t, s, k, []byte("short-lived"))
	sleepPast(expiry)
	MustNotFind(t, s, k)
	wantData(t, s, live, []byte("live"))
}

func testPastExpiry(t *testing.T, s session.Store) {
	k := Key()
	MustCommit(t, s, k, []byte("already expired"), time.Now().Add(-time.Minute))
	MustNotFind(t, s, k)
	k2 := Key()
	MustCommit(t, s, k2, []byte("expired long ago"), time.Unix(0, 0))
	MustNotFind(t, s, k2)
}

func testDelete(t *testing.T, s session.Store) {
	k, other := Key(), Key()
	MustCommit(t, s, k, []byte("to delete"), Live())
	MustCommit(t, s, other, []byte("to keep"), Live())
	if err := s.Delete(context.Background(), k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	MustNotFind(t, s, k)
	wantData(t, s, other, []byte("to keep"))
	// Deleting twice is not an error either.
	if err := s.Delete(context.Background(), k); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func testDeleteUnknown(t *testing.T, s session.Store) {
	if err := s.Delete(context.Background(), Key()); err != nil {
		t.Fatalf("Delete(unknown key) = %v, want nil", err)
	}
	if err := s.Delete(context.Background(), ""); err != nil {
		t.Fatalf("Delete(\"\") = %v, want nil", err)
	}
}

// testRenew is what the manager does when it rotates a session id (on login,
// for instance): the data moves to a new key and the old key must die, so
// that an id planted or stolen before the rotation is worthless after it.
func testRenew(t *testing.T, s session.Store) {
	k1, k2 := Key(), Key()
	data := []byte(`{"cart":[1,2,3]}`)
	MustCommit(t, s, k1, data, Live())
	MustCommit(t, s, k2, data, Live())
	if err := s.Delete(context.Background(), k1); err != nil {
		t.Fatalf("Delete(old key): %v", err)
	}
	wantData(t, s, k2, data)
	MustNotFind(t, s, k1)
}

func testUnknownKeys(t *testing.T, s session.Store) {
	// A store with a record in it, so that a key matching "anything" would
	// show.
	MustCommit(t, s, Key(), []byte("someone else's session"), Live())
	keys := append([]string{
		Key(),
		"",
		strings.Repeat("A", 64<<10),
		strings.Repeat("\x00", 1024),
	}, HostileKeys()...)
	for _, k := range keys {
		MustNotFind(t, s, k)
		if err := s.Delete(context.Background(), k); err != nil {
			t.Fatalf("Delete(%q) = %v, want nil", trim(k), err)
		}
	}
}

func testHostileKeys(t *testing.T, s session.Store) {
	victim := Key()
	MustCommit(t, s, victim, []byte("victim"), Live())
	keys := HostileKeys()
	for i, k := range keys {
		MustCommit(t, s, k, []byte(fmt.Sprint("value ", i)), Live())
	}
	for i, k := range keys {
		wantData(t, s, k, []byte(fmt.Sprint("value ", i)))
	}
	// Nothing a hostile key did reached another record.
	wantData(t, s, victim, []byte("victim"))
	for _, k := range keys {
		if err := s.Delete(context.Background(), k); err != nil {
			t.Fatalf("Delete(%q): %v", trim(k), err)
		}
		MustNotFind(t, s, k)
	}
	wantData(t, s, victim, []byte("victim"))
}

// testKeysAreExact checks that keys are compared byte for byte: no case
// folding, trimming, prefix matching or Unicode normalisation, any of which
// would let a forged id reach a real session.
func testKeysAreExact(t *testing.T, s session.Store) {
	k := "AbCdEfGh0123456789"
	MustCommit(t, s, k, []byte("exact"), Live())
	for _, near := range []string{
		"abcdefgh0123456789",
		"ABCDEFGH0123456789",
		k + " ",
		" " + k,
		k + "\x00",
		k[:len(k)-1],
		k + "0",
	} {
		MustNotFind(t, s, near)
	}
	// "é" precomposed and decomposed are different keys.
	MustCommit(t, s, "caf\u00e9", []byte("nfc"), Live())
	MustNotFind(t, s, "cafe\u0301")
	wantData(t, s, k, []byte("exact"))
}

func testConcurrent(t *testing.T, s session.Store) {
	const workers, rounds = 8, 12
	shared := Key()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*4)
	for w := range workers {
		wg.Go(func() {
			own := Key()
			for r := range rounds {
				v := []byte(fmt.Sprintf("worker %d round %d", w, r))
				if err := s.Commit(ctx, own, v, Live()); err != nil {
					errs <- fmt.Errorf("Commit(own): %w", err)
					return
				}
				got, found, err := s.Find(ctx, own)
				if err != nil || !found || !bytes.Equal(got, v) {
					errs <- fmt.Errorf("Find(own) = %q, %v, %v; want %q", got, found, err, v)
					return
				}
				if err := s.Commit(ctx, shared, v, Live()); err != nil {
					errs <- fmt.Errorf("Commit(shared): %w", err)
					return
				}
				got, found, err = s.Find(ctx, shared)
				if err != nil || !found {
					errs <- fmt.Errorf("Find(shared) = %v, %v; want found", found, err)
					return
				}
				// Whatever writer won, the record is one of the values
				// written, never a mix of two.
				if !bytes.HasPrefix(got, []byte("worker ")) {
					errs <- fmt.Errorf("Find(shared) = %q: torn write", got)
					return
				}
			}
			if err := s.Delete(ctx, own); err != nil {
				errs <- fmt.Errorf("Delete(own): %w", err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := MustFind(t, s, shared)
	var w, r int
	if _, err := fmt.Sscanf(string(got), "worker %d round %d", &w, &r); err != nil || w >= workers || r >= rounds {
		t.Fatalf("shared record = %q, not a value any worker wrote", got)
	}
}

func testLargeValue(t *testing.T, s session.Store) {
	k := Key()
	big := make([]byte, 1<<20)
	rand.Read(big)
	MustCommit(t, s, k, big, Live())
	got := MustFind(t, s, k)
	if !bytes.Equal(got, big) {
		t.Fatalf("1 MiB value: got %d bytes back, not the same", len(got))
	}
}

func testEmptyValue(t *testing.T, s session.Store) {
	for name, v := range map[string][]byte{"empty": {}, "nil": nil} {
		k := Key()
		MustCommit(t, s, k, v, Live())
		got := MustFind(t, s, k)
		if len(got) != 0 {
			t.Fatalf("%s value: Find = %q, want empty", name, got)
		}
	}
}

func testBinaryValue(t *testing.T, s session.Store) {
	k := Key()
	v := make([]byte, 0, 512)
	for i := range 256 {
		v = append(v, byte(i))
	}
	v = append(v, "\r\n$-1\r\n*\x00'\"\\"...)
	MustCommit(t, s, k, v, Live())
	wantData(t, s, k, v)
}

func wantCtxErr(t *testing.T, op string, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s with a done context: nil error, want one wrapping %v", op, want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s with a done context: %v, want an error wrapping %v", op, err, want)
	}
}

func testCancelled(t *testing.T, s session.Store) {
	existing := Key()
	MustCommit(t, s, existing, []byte("before"), Live())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	checkDoneContext(t, s, ctx, existing, context.Canceled)
}

func testDeadline(t *testing.T, s session.Store) {
	existing := Key()
	MustCommit(t, s, existing, []byte("before"), Live())
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	checkDoneContext(t, s, ctx, existing, context.DeadlineExceeded)
}

func checkDoneContext(t *testing.T, s session.Store, ctx context.Context, existing string, want error) {
	t.Helper()
	fresh := Key()
	_, found, err := s.Find(ctx, existing)
	wantCtxErr(t, "Find", err, want)
	if found {
		t.Fatal("Find with a done context reported found")
	}
	wantCtxErr(t, "Commit(new key)", s.Commit(ctx, fresh, []byte("after"), Live()), want)
	wantCtxErr(t, "Commit(existing key)", s.Commit(ctx, existing, []byte("after"), Live()), want)
	wantCtxErr(t, "Delete", s.Delete(ctx, existing), want)
	if u, ok := s.(session.Updater); ok {
		found, err := u.Update(ctx, existing, []byte("after"), Live())
		wantCtxErr(t, "Update", err, want)
		if found {
			t.Fatal("Update with a done context reported found")
		}
	}
	if p, ok := s.(session.Purger); ok {
		_, err := p.Purge(ctx)
		wantCtxErr(t, "Purge", err, want)
	}
	// Nothing was written or deleted.
	MustNotFind(t, s, fresh)
	wantData(t, s, existing, []byte("before"))
}

func testCommitCopies(t *testing.T, s session.Store) {
	k := Key()
	v := []byte("original")
	MustCommit(t, s, k, v, Live())
	copy(v, "MUTATED!")
	wantData(t, s, k, []byte("original"))
}

func testFindCopies(t *testing.T, s session.Store) {
	k := Key()
	MustCommit(t, s, k, []byte("original"), Live())
	got := MustFind(t, s, k)
	copy(got, "MUTATED!")
	_ = append(got[:0], "ALSO MUTATED"...)
	wantData(t, s, k, []byte("original"))
}

func testPurge(t *testing.T, s session.Store) {
	p, ok := s.(session.Purger)
	if !ok {
		t.Skip("store does not implement session.Purger (it expires records by itself)")
	}
	ctx := context.Background()
	// An empty store purges nothing.
	if n, err := p.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("Purge(empty store) = %d, %v; want 0, nil", n, err)
	}
	var live, dead []string
	for i := range 5 {
		k := Key()
		MustCommit(t, s, k, []byte(fmt.Sprint("live ", i)), Live())
		live = append(live, k)
	}
	// Records committed live that then expired: Purge must remove each.
	var expiry time.Time
	for i := range 3 {
		k := Key()
		expiry = commitShort(t, s, k, []byte(fmt.Sprint("short-lived ", i)))
		dead = append(dead, k)
	}
	// Records committed with an expiry already past: a store may keep them
	// until purged or drop them at once, so they count at most once.
	var past []string
	for i := range 2 {
		k := Key()
		MustCommit(t, s, k, []byte(fmt.Sprint("dead ", i)), time.Now().Add(-time.Duration(i+1)*time.Hour))
		past = append(past, k)
	}
	sleepPast(expiry)

	n, err := p.Purge(ctx)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n < int64(len(dead)) || n > int64(len(dead)+len(past)) {
		t.Fatalf("Purge removed %d records, want %d to %d", n, len(dead), len(dead)+len(past))
	}
	dead = append(dead, past...)
	for i, k := range live {
		wantData(t, s, k, []byte(fmt.Sprint("live ", i)))
	}
	for _, k := range dead {
		MustNotFind(t, s, k)
	}
	// The expired records are gone for good: a second purge finds nothing.
	if n, err := p.Purge(ctx); err != nil || n != 0 {
		t.Fatalf("second Purge = %d, %v; want 0, nil", n, err)
	}
	// A purged key can be used again.
	MustCommit(t, s, dead[0], []byte("reborn"), Live())
	wantData(t, s, dead[0], []byte("reborn"))
}

func updater(t *testing.T, s session.Store) session.Updater {
	t.Helper()
	u, ok := s.(session.Updater)
	if !ok {
		t.Skip("store does not implement session.Updater")
	}
	return u
}

func mustUpdate(t *testing.T, u session.Updater, key string, data []byte, expiry time.Time, want bool) {
	t.Helper()
	found, err := u.Update(context.Background(), key, data, expiry)
	if err != nil {
		t.Fatalf("Update(%q): %v", trim(key), err)
	}
	if found != want {
		t.Fatalf("Update(%q) found = %v, want %v", trim(key), found, want)
	}
}

func testUpdateExisting(t *testing.T, s session.Store) {
	u := updater(t, s)
	k, other := Key(), Key()
	MustCommit(t, s, k, []byte("first"), Live())
	MustCommit(t, s, other, []byte("other"), Live())
	mustUpdate(t, u, k, []byte("second"), Live(), true)
	wantData(t, s, k, []byte("second"))
	wantData(t, s, other, []byte("other"))
	// The new expiry applies: updating with a short one makes the record
	// expire then.
	expiry := time.Now().Add(TTL)
	mustUpdate(t, u, k, []byte("third"), expiry, true)
	sleepPast(expiry)
	MustNotFind(t, s, k)
}

func testUpdateMissing(t *testing.T, s session.Store) {
	u := updater(t, s)
	k := Key()
	mustUpdate(t, u, k, []byte("phantom"), Live(), false)
	MustNotFind(t, s, k)
}

// testUpdateAfterDelete is the race Update exists for: a request loaded the
// session, a concurrent request logged out (deleted it), then the first
// saves. The session must stay dead.
func testUpdateAfterDelete(t *testing.T, s session.Store) {
	u := updater(t, s)
	k := Key()
	MustCommit(t, s, k, []byte("logged in"), Live())
	if err := s.Delete(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, u, k, []byte("resurrected"), Live(), false)
	MustNotFind(t, s, k)
}

func testUpdateAfterExpiry(t *testing.T, s session.Store) {
	u := updater(t, s)
	k := Key()
	sleepPast(commitShort(t, s, k, []byte("short-lived")))
	mustUpdate(t, u, k, []byte("resurrected"), Live(), false)
	MustNotFind(t, s, k)
}

func testUpdateWithPastExpiry(t *testing.T, s session.Store) {
	u := updater(t, s)
	k := Key()
	MustCommit(t, s, k, []byte("live"), Live())
	mustUpdate(t, u, k, []byte("dead"), time.Now().Add(-time.Second), true)
	MustNotFind(t, s, k)
}

// An Update under a hostile key matches no other record: a store that
// built its UPDATE from the key would rewrite every session here.
func testUpdateHostileKeys(t *testing.T, s session.Store) {
	u := updater(t, s)
	victim := Key()
	MustCommit(t, s, victim, []byte("victim"), Live())
	for _, k := range HostileKeys() {
		mustUpdate(t, u, k, []byte("owned"), Live(), false)
		MustNotFind(t, s, k)
	}
	wantData(t, s, victim, []byte("victim"))
}

func testUpdateCopies(t *testing.T, s session.Store) {
	u := updater(t, s)
	k := Key()
	MustCommit(t, s, k, []byte("first"), Live())
	v := []byte("original")
	mustUpdate(t, u, k, v, Live(), true)
	copy(v, "MUTATED!")
	wantData(t, s, k, []byte("original"))
}
