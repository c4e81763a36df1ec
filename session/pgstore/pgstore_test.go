package pgstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/pgstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// newStore returns a store on a table of its own, dropped when t ends.
func newStore(t *testing.T, pool *pgxpool.Pool) (*pgstore.Store, string) {
	t.Helper()
	table := testsvc.Unique("bulwark_test_")
	t.Cleanup(func() {
		if _, err := pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+pgx.Identifier{table}.Sanitize()); err != nil {
			t.Errorf("dropping %s: %v", table, err)
		}
	})
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	return s, table
}

func TestConformance(t *testing.T) {
	pool := testsvc.Postgres(t)
	sessiontest.Run(t, func(t *testing.T) session.Store {
		s, _ := newStore(t, pool)
		return s
	})
}

func TestSchema(t *testing.T) {
	pool := testsvc.Postgres(t)
	_, table := newStore(t, pool)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT column_name, data_type, is_nullable FROM information_schema.columns
		WHERE table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name, typ, null string
		if err := rows.Scan(&name, &typ, &null); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+" "+typ+" "+null)
	}
	want := []string{"key bytea NO", "data bytea NO", "expiry timestamp with time zone NO"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("columns = %q, want %q", got, want)
	}
	var idx string
	if err := pool.QueryRow(ctx, `SELECT indexdef FROM pg_indexes WHERE tablename = $1 AND indexname = $2`,
		table, table+"_expiry").Scan(&idx); err != nil {
		t.Fatalf("expiry index: %v", err)
	}
	if !strings.Contains(idx, "(expiry)") {
		t.Fatalf("expiry index = %q", idx)
	}
}

// Several instances starting at once on a new table all succeed.
func TestConcurrentCreation(t *testing.T) {
	pool := testsvc.Postgres(t)
	table := testsvc.Unique("bulwark_test_")
	t.Cleanup(func() { pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+table) })
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Go(func() {
			_, err := pgstore.New(context.Background(), pool, pgstore.Config{Table: table})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestSchemaOption(t *testing.T) {
	pool := testsvc.Postgres(t)
	ctx := context.Background()
	schema := testsvc.Unique("bulwark_schema_")
	if _, err := pool.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
	s, err := pgstore.New(ctx, pool, pgstore.Config{Schema: schema, Table: "Sessions"})
	if err != nil {
		t.Fatal(err)
	}
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("v"), sessiontest.Live())
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`."Sessions"`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in %s.\"Sessions\" = %d, %v; want 1", schema, n, err)
	}
}

func TestPurgeBatches(t *testing.T) {
	pool := testsvc.Postgres(t)
	s, table := newStore(t, pool)
	ctx := context.Background()
	const n = 2500 // more than two batches
	if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (key, data, expiry)
		SELECT convert_to(i::text, 'UTF8'), '\x00', now() - interval '1 minute' FROM generate_series(1, $1) AS i`, n); err != nil {
		t.Fatal(err)
	}
	live := sessiontest.Key()
	sessiontest.MustCommit(t, s, live, []byte("live"), sessiontest.Live())
	got, err := s.Purge(ctx)
	if err != nil || got != n {
		t.Fatalf("Purge = %d, %v; want %d, nil", got, err, n)
	}
	sessiontest.MustFind(t, s, live)
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&left); err != nil || left != 1 {
		t.Fatalf("rows left = %d, %v; want 1", left, err)
	}
}

// Stores fail closed: a database that cannot be reached is an error, never
// "not found".
func TestErrorsAreNotNotFound(t *testing.T) {
	pool := testsvc.Postgres(t)
	s, table := newStore(t, pool)
	k := sessiontest.Key()
	sessiontest.MustCommit(t, s, k, []byte("v"), sessiontest.Live())

	// The same table through a pool that is then closed.
	other, err := pgxpool.NewWithConfig(context.Background(), pool.Config())
	if err != nil {
		t.Fatal(err)
	}
	dead, err := pgstore.New(context.Background(), other, pgstore.Config{Table: table})
	other.Close()
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.MustFailClosed(t, dead, k, "pgstore: ")
}

// A table dropped under the store (a botched migration) is an error, not
// an empty session.
func TestMissingTableIsAnError(t *testing.T) {
	pool := testsvc.Postgres(t)
	s, table := newStore(t, pool)
	if _, err := pool.Exec(context.Background(), `DROP TABLE `+table); err != nil {
		t.Fatal(err)
	}
	if _, found, err := s.Find(context.Background(), sessiontest.Key()); err == nil || found {
		t.Fatalf("Find on a missing table = %v, %v; want an error", found, err)
	}
}

func TestNeverLogs(t *testing.T) {
	s, _ := newStore(t, testsvc.Postgres(t))
	sessiontest.MustNotLog(t, s)
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg pgstore.Config
		ok  bool
	}{
		{pgstore.Config{}, true},
		{pgstore.Config{Table: "sessions"}, true},
		{pgstore.Config{Table: "Sessions", Schema: "app"}, true},
		{pgstore.Config{Table: strings.Repeat("t", 56)}, true},
		{pgstore.Config{Table: strings.Repeat("t", 57)}, false},
		{pgstore.Config{Table: `sessions"; DROP TABLE users; --`}, false},
		{pgstore.Config{Table: "public.sessions"}, false},
		{pgstore.Config{Table: "1sessions"}, false},
		{pgstore.Config{Table: "séssions"}, false},
		{pgstore.Config{Schema: "app; --"}, false},
		{pgstore.Config{Schema: strings.Repeat("s", 64)}, false},
	} {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("Validate(%+v) = %v, want ok=%v", tt.cfg, err, tt.ok)
		}
	}
	if _, err := pgstore.New(context.Background(), nil, pgstore.Config{}); err == nil {
		t.Error("New accepted a nil pool")
	}
}
