package sqlitestore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
	"github.com/bulwarkdev/bulwark/session/sqlitestore"
)

func open(t *testing.T, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		return open(t, filepath.Join(t.TempDir(), "sessions.db"))
	})
}

// The suite through New, on a caller's *sql.DB and a custom table name that
// is also an SQL keyword.
func TestConformanceNew(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T) session.Store {
		db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(5000)&_pragma=synchronous(NORMAL)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := sqlitestore.New(context.Background(), db, sqlitestore.Config{Table: "order"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("kept"), sessiontest.Live())
	dead := sessiontest.Key()
	sessiontest.MustCommit(t, s, dead, []byte("gone"), time.Now().Add(-time.Second))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if got := sessiontest.MustFind(t, s, k); string(got) != "kept" {
		t.Fatalf("after reopening: %q, want %q", got, "kept")
	}
	sessiontest.MustNotFind(t, s, dead)
	if n, err := s.Purge(context.Background()); err != nil || n != 1 {
		t.Fatalf("Purge after reopening = %d, %v; want 1, nil", n, err)
	}
}

func TestFilePermissions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path)
	sessiontest.MustCommit(t, s, sessiontest.Key(), []byte("x"), sessiontest.Live())
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(p), mode)
		}
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	open(t, path)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Fatalf("journal_mode = %q, want wal", mode)
	}
}

// Two processes (here two Stores, each with its own pool) on one file: the
// busy timeout and WAL let both write.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	a, b := open(t, path), open(t, path)
	ka, kb := sessiontest.Key(), sessiontest.Key()
	done := make(chan error, 2)
	for _, w := range []struct {
		s *sqlitestore.Store
		k string
	}{{a, ka}, {b, kb}} {
		go func() {
			for range 50 {
				if err := w.s.Commit(context.Background(), w.k, []byte("v"), sessiontest.Live()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	sessiontest.MustFind(t, a, kb)
	sessiontest.MustFind(t, b, ka)
}

func TestPurgeBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path)
	const n = 2100 // more than two batches
	// Inserted by one statement beside the store: committing them one by
	// one would only make the test slow.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?)
		INSERT INTO bulwark_sessions (key, data, expiry) SELECT CAST(i AS BLOB), x'00', ? FROM c`,
		n, time.Now().Add(-time.Minute).UnixNano()); err != nil {
		t.Fatal(err)
	}
	live := sessiontest.Key()
	sessiontest.MustCommit(t, s, live, []byte("live"), sessiontest.Live())
	got, err := s.Purge(context.Background())
	if err != nil || got != n {
		t.Fatalf("Purge = %d, %v; want %d, nil", got, err, n)
	}
	sessiontest.MustFind(t, s, live)
	var left int
	if err := db.QueryRow(`SELECT count(*) FROM bulwark_sessions`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("rows left after Purge = %d, %v; want 1", left, err)
	}
}

// A row that does not hold a session (written by hand, or damaged) is not
// found; it is never an empty session.
func TestUnusableRowIsNotFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s := open(t, path)
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, v := range []any{int64(42), 3.5} {
		k := sessiontest.Key()
		_, err := db.Exec(`INSERT INTO bulwark_sessions (key, data, expiry) VALUES (?, ?, ?)`,
			[]byte(k), v, time.Now().Add(time.Hour).UnixNano())
		if err != nil {
			t.Fatal(i, err)
		}
		sessiontest.MustNotFind(t, s, k)
	}
	// A key stored as TEXT by some other writer does not match the same
	// bytes looked up as a BLOB: type confusion never merges two keys.
	k := sessiontest.Key()
	if _, err := db.Exec(`INSERT INTO bulwark_sessions (key, data, expiry) VALUES (?, ?, ?)`,
		k, []byte("text key"), time.Now().Add(time.Hour).UnixNano()); err != nil {
		t.Fatal(err)
	}
	sessiontest.MustNotFind(t, s, k)
}

// Stores fail closed: a broken database is an error, never "not found".
func TestErrorsAreNotNotFound(t *testing.T) {
	s, err := sqlitestore.Open(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("x"), sessiontest.Live())
	s.Close()
	sessiontest.MustFailClosed(t, s, k, "sqlitestore: ")
}

// The store never logs: nothing reaches the default logger, so no key can
// leak into logs through it.
func TestNeverLogs(t *testing.T) {
	sessiontest.MustNotLog(t, open(t, filepath.Join(t.TempDir(), "sessions.db")))
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		table string
		ok    bool
	}{
		{"", true},
		{"sessions", true},
		{"_s2", true},
		{"Order", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"2sessions", false},
		{"sessions; DROP TABLE users", false},
		{`sessions"`, false},
		{"my-sessions", false},
		{"main.sessions", false},
		{"séssions", false},
		{"sessions\x00", false},
	} {
		err := sqlitestore.Config{Table: tt.table}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("Validate(Table: %q) = %v, want ok=%v", tt.table, err, tt.ok)
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlitestore.New(context.Background(), db, sqlitestore.Config{Table: "x; DROP TABLE y"}); err == nil {
		t.Fatal("New accepted a table name that is not an identifier")
	}
	if _, err := sqlitestore.New(context.Background(), nil, sqlitestore.Config{}); err == nil {
		t.Fatal("New accepted a nil *sql.DB")
	}
}

func TestOpenRejectsNonPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		if _, err := sqlitestore.Open(p); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
	// A name with URI metacharacters is taken literally.
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "a?b#c%20d.db"))
	sessiontest.MustCommit(t, s, "k", []byte("v"), sessiontest.Live())
	if _, err := os.Stat(filepath.Join(dir, "a?b#c%20d.db")); err != nil {
		t.Fatalf("database not at the literal path: %v", err)
	}
}

func TestCommitWaitsUnderContext(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "sessions.db"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	err := s.Commit(ctx, "k", []byte("v"), sessiontest.Live())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Commit with an expired ctx = %v", err)
	}
}

func Example() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(filepath.Join(dir, "sessions.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()

	store.Commit(ctx, "opaque-key", []byte(`{"user":42}`), time.Now().Add(time.Hour))
	data, found, _ := store.Find(ctx, "opaque-key")
	fmt.Println(string(data), found)

	// A forged key that tries SQL injection is just an unknown key.
	_, found, err = store.Find(ctx, "' OR '1'='1")
	fmt.Println(found, err)
	// Output:
	// {"user":42} true
	// false <nil>
}
