package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session/pgstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
	"github.com/bulwarkdev/bulwark/session/sqlitestore"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestSessionsPurgeSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	s, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := sessiontest.Key()
	sessiontest.MustCommit(t, s, live, []byte("live"), sessiontest.Live())
	for range 3 {
		sessiontest.MustCommit(t, s, sessiontest.Key(), []byte("dead"), time.Now().Add(-time.Minute))
	}

	code, out, errOut := runCmd("sessions", "purge", "--sqlite", path)
	if code != 0 || !strings.Contains(out, "Purged 3 expired sessions from SQLite database") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	sessiontest.MustFind(t, s, live)
	code, out, _ = runCmd("sessions", "purge", "-sqlite", path)
	if code != 0 || !strings.Contains(out, "Purged 0 expired sessions") {
		t.Fatalf("second purge: exit %d, stdout %q", code, out)
	}
}

func TestSessionsPurgePostgres(t *testing.T) {
	pool := testsvc.Postgres(t)
	table := testsvc.Unique("bulwark_test_")
	t.Cleanup(func() { pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+table) })
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	live := sessiontest.Key()
	sessiontest.MustCommit(t, s, live, []byte("live"), sessiontest.Live())
	sessiontest.MustCommit(t, s, sessiontest.Key(), []byte("dead"), time.Now().Add(-time.Minute))

	code, out, errOut := runCmd("sessions", "purge", "--postgres", testsvc.PostgresURL(), "--table", table)
	if code != 0 || !strings.Contains(out, "Purged 1 expired session from PostgreSQL") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	sessiontest.MustFind(t, s, live)

	t.Setenv("BULWARK_POSTGRES_URL", testsvc.PostgresURL())
	if code, out, errOut := runCmd("sessions", "purge", "--postgres", "env", "--table", table); code != 0 {
		t.Fatalf("--postgres env: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestSessionsPurgeRedis(t *testing.T) {
	code, out, _ := runCmd("sessions", "purge", "--redis", "127.0.0.1:6379")
	if code != 0 || !strings.Contains(out, "nothing to purge") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestSessionsUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sessions"}, 2, "Usage:"},
		{[]string{"sessions", "-h"}, 0, "Usage:"},
		{[]string{"sessions", "purge", "-h"}, 0, "Usage:"},
		{[]string{"sessions", "vacuum"}, 2, `unknown subcommand "vacuum"`},
		{[]string{"sessions", "purge"}, 2, "exactly one of"},
		{[]string{"sessions", "purge", "--sqlite", "a.db", "--redis", "x:1"}, 2, "exactly one of"},
		{[]string{"sessions", "purge", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"sessions", "purge", "--sqlite", "a.db", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"sessions", "purge", "--sqlite", "a.db", "--timeout", "0s"}, 2, "--timeout must be positive"},
		{[]string{"sessions", "purge", "--sqlite", "a.db", "--schema", "s"}, 2, "--postgres only"},
		// A mistyped path fails instead of creating an empty database.
		{[]string{"sessions", "purge", "--sqlite", filepath.Join(dir, "missing.db")}, 1, "no such file"},
		{[]string{"sessions", "purge", "--sqlite", filepath.Join(dir, "x.db"), "--table", "t; DROP TABLE u"}, 2, "not an identifier"},
		{[]string{"sessions", "purge", "--postgres", "postgres://u:hunter2@127.0.0.1:1/db?sslmode=bogus"}, 2, "--postgres"},
		// An unreachable database is a failure, with the password kept out
		// of the message.
		{[]string{"sessions", "purge", "--postgres", "postgres://u:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "--timeout", "3s"}, 1, "sessions purge:"},
	} {
		code, out, errOut := runCmd(tt.args...)
		if code != tt.code || !strings.Contains(out+errOut, tt.want) {
			t.Errorf("%q: exit %d, output %q; want exit %d and %q", tt.args, code, out+errOut, tt.code, tt.want)
		}
		if strings.Contains(out+errOut, "hunter2") {
			t.Errorf("%q: output shows the password: %q", tt.args, out+errOut)
		}
	}
}
