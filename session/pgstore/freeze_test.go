package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session/pgstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// TestFrozenPostgres freezes a PostgreSQL of the test's own mid-use:
// requests get 503 within the store timeout, and recover after SIGCONT.
func TestFrozenPostgres(t *testing.T) {
	srv := testsvc.StartPostgres(t)
	pool, err := pgxpool.New(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := pgstore.New(context.Background(), pool, pgstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sessiontest.RunOutage(t, sessiontest.Outage{Store: s, Freeze: srv.Freeze, Thaw: srv.Thaw, Timeout: 300 * time.Millisecond})
}
