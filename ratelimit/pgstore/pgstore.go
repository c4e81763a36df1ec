// Package pgstore is a ratelimit.Store in PostgreSQL: every gateway or
// application instance using the same database shares the limits.
//
// Each Take is one SQL statement (an INSERT ... ON CONFLICT DO UPDATE,
// one round trip once pgx has prepared it), which applies GCRA under the
// row's lock with the server's clock, so that neither concurrent requests
// nor the clocks of several instances can let more through than the limit.
//
// The table is UNLOGGED: rate-limit state is worth less than the write
// traffic a logged table would cost, and losing it (a crash, a failover to
// a standby) only restarts everyone's allowance. Rows of clients whose
// allowance has recovered are removed by Sweep; call it now and then (a
// minute apart is plenty).
//
// Deadlines: pgx honours the context, so the per-call deadline of
// ratelimit.Rule.Timeout bounds each Take on a frozen server.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/sqlident"
	"github.com/bulwarkdev/bulwark/ratelimit"
)

// DefaultTable is the table name used when Config.Table is empty.
const DefaultTable = "bulwark_ratelimit"

const maxTable = 56

// Config configures a Store. The zero value is valid.
type Config struct {
	// Schema is the schema holding the table, which must exist. An
	// identifier (see Table). Zero value: none, the connection's
	// search_path decides (normally "public").
	Schema string `toml:"schema"`
	// Table is the name of the table, created if missing: an ASCII letter
	// or underscore, then letters, digits or underscores, at most 56
	// characters; quoted, so case matters. Zero value: DefaultTable
	// ("bulwark_ratelimit").
	Table string `toml:"table"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	return sqlident.CheckPostgres("pgstore", c.Schema, c.Table, maxTable)
}

// Store is a ratelimit.Store backed by PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	pool          *pgxpool.Pool
	qTake, qSweep string
}

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store using pool, creating its table if it does not exist.
// The pool stays the caller's to close.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	t := pgx.Identifier{table}.Sanitize()
	if cfg.Schema != "" {
		t = pgx.Identifier{cfg.Schema, table}.Sanitize()
	}
	idx := pgx.Identifier{table + "_tat"}.Sanitize()
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Serialise instances creating the table at once (CREATE ... IF
		// NOT EXISTS is not safe against a concurrent creator).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "bulwark.ratelimit.pgstore:"+t); err != nil {
			return err
		}
		// key: the opaque key (bytea: keys may hold any byte). tat: the
		// theoretical arrival time, µs since the epoch. ok and at: the
		// last decision and its time, for the statement to return.
		if _, err := tx.Exec(ctx, `CREATE UNLOGGED TABLE IF NOT EXISTS `+t+
			` (key bytea PRIMARY KEY, tat bigint NOT NULL, ok boolean NOT NULL, at bigint NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+idx+` ON `+t+` (tat)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: creating table: %w", err)
	}
	return &Store{
		pool: pool,
		// $1 key, $2 interval (µs), $3 burst, $4 cost. A new key is
		// inserted as if its TAT were now; an existing one is updated
		// under its row lock. Within one UPDATE every expression sees the
		// old row, so the condition is repeated rather than read back.
		// EXCLUDED.at is the statement's "now", computed once.
		qTake: `INSERT INTO ` + t + ` AS r (key, tat, ok, at)
SELECT $1::bytea,
	CASE WHEN $4::bigint <= $3::bigint THEN greatest(n.t + $2::bigint * $4::bigint, n.t) ELSE n.t END,
	$4::bigint <= $3::bigint, n.t
FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS t) AS n
ON CONFLICT (key) DO UPDATE SET
	ok = $4::bigint < 0 OR greatest(r.tat, EXCLUDED.at) + $2::bigint * $4::bigint - EXCLUDED.at <= $2::bigint * $3::bigint,
	tat = CASE WHEN $4::bigint < 0 OR greatest(r.tat, EXCLUDED.at) + $2::bigint * $4::bigint - EXCLUDED.at <= $2::bigint * $3::bigint
		THEN greatest(greatest(r.tat, EXCLUDED.at) + $2::bigint * $4::bigint, EXCLUDED.at) ELSE r.tat END,
	at = EXCLUDED.at
RETURNING tat, ok, at`,
		qSweep: `DELETE FROM ` + t + ` WHERE tat < (extract(epoch FROM clock_timestamp()) * 1000000)::bigint`,
	}, nil
}

// Take applies the limit to key with one statement (see ratelimit.Store).
func (s *Store) Take(ctx context.Context, key string, l ratelimit.Limit, cost int) (ratelimit.Result, error) {
	iv := l.Interval.Microseconds()
	if iv < 1 || l.Burst < 1 {
		return ratelimit.Result{}, fmt.Errorf("pgstore: invalid limit %+v", l)
	}
	var tat, at int64
	var ok bool
	err := s.pool.QueryRow(ctx, s.qTake, []byte(key), iv, int64(l.Burst), int64(cost)).Scan(&tat, &ok, &at)
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("pgstore: take: %w", err)
	}
	limit := iv * int64(l.Burst)
	if !ok {
		t := max(tat, at)
		return ratelimit.Result{
			Remaining:  int(max((limit-(t-at))/iv, 0)),
			RetryAfter: time.Duration(t+iv*int64(cost)-at-limit) * time.Microsecond,
		}, nil
	}
	return ratelimit.Result{Allowed: true, Remaining: int((limit - (tat - at)) / iv)}, nil
}

// Sweep deletes the rows of clients whose allowance has fully recovered
// and returns how many it deleted.
func (s *Store) Sweep(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, s.qSweep)
	if err != nil {
		return 0, fmt.Errorf("pgstore: sweep: %w", err)
	}
	return tag.RowsAffected(), nil
}
