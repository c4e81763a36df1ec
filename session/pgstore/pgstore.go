package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/internal/sqlident"
	"github.com/bulwarkdev/bulwark/session"
)

// DefaultTable is the table name used when Config.Table is empty.
const DefaultTable = "bulwark_sessions"

// purgeBatch is how many rows one Purge statement deletes.
const purgeBatch = 1000

// maxTable leaves room in PostgreSQL's 63-byte identifiers for the index
// name, the table name plus "_expiry".
const maxTable = 56

// Config configures a Store. The zero value is valid.
type Config struct {
	// Schema is the schema holding the table, which must exist. It must be
	// an identifier (see Table). Zero value: none, the table is found
	// through the connection's search_path (normally "public").
	Schema string `toml:"schema"`

	// Table is the name of the sessions table, created if missing. It must
	// be an identifier: an ASCII letter or underscore, then letters,
	// digits or underscores, at most 56 characters. It is quoted, so case
	// matters. Zero value: DefaultTable ("bulwark_sessions").
	Table string `toml:"table"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	return sqlident.CheckPostgres("pgstore", c.Schema, c.Table, maxTable)
}

// Store is a session.Store and session.Purger backed by PostgreSQL. It is
// safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool

	qFind, qCommit, qUpdate, qDelete, qPurge string
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Purger  = (*Store)(nil)
	_ session.Updater = (*Store)(nil)
)

// New returns a Store using pool, creating its table and index if they do
// not exist. The pool stays the caller's to close.
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
	var t, idx string
	if cfg.Schema != "" {
		t = pgx.Identifier{cfg.Schema, table}.Sanitize()
	} else {
		t = pgx.Identifier{table}.Sanitize()
	}
	// An index name takes no schema: it lives in its table's.
	idx = pgx.Identifier{table + "_expiry"}.Sanitize()

	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Serialise concurrent creators (several instances starting at
		// once): CREATE ... IF NOT EXISTS checks the catalog before it
		// locks it, so two of them can both try to create and one fail on
		// a unique violation. The lock ends with the transaction.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "bulwark.pgstore:"+t); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+t+` (key bytea PRIMARY KEY, data bytea NOT NULL, expiry timestamptz NOT NULL)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE INDEX IF NOT EXISTS `+idx+` ON `+t+` (expiry)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: creating schema: %w", err)
	}
	return &Store{
		pool:    pool,
		qFind:   `SELECT data FROM ` + t + ` WHERE key = $1 AND expiry > $2`,
		qCommit: `INSERT INTO ` + t + ` (key, data, expiry) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`,
		qUpdate: `UPDATE ` + t + ` SET data = $2, expiry = $3 WHERE key = $1 AND expiry > $4`,
		qDelete: `DELETE FROM ` + t + ` WHERE key = $1`,
		qPurge: `DELETE FROM ` + t + ` WHERE key IN (SELECT key FROM ` + t +
			` WHERE expiry <= $1 LIMIT ` + fmt.Sprint(purgeBatch) + ` FOR UPDATE SKIP LOCKED)`,
	}, nil
}

// Find returns the data stored under key, if its record exists and has not
// expired.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("pgstore: find: %w", err)
	}
	// pgx copies a bytea into a new slice for a *[]byte: the caller owns
	// it.
	var data []byte
	err := s.pool.QueryRow(ctx, s.qFind, []byte(key), time.Now()).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("pgstore: find: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, true, nil
}

// Commit stores data under key until expiry, replacing any record for key,
// in one statement.
func (s *Store) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	if data == nil {
		data = []byte{} // nil binds as NULL
	}
	if _, err := s.pool.Exec(ctx, s.qCommit, []byte(key), data, expiry); err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	return nil
}

// Update replaces the record for key only if it exists and has not
// expired, in one UPDATE statement. found == false means nothing was
// written: the session was deleted meanwhile (a logout in a concurrent
// request) or has expired.
func (s *Store) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("pgstore: update: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	tag, err := s.pool.Exec(ctx, s.qUpdate, []byte(key), data, expiry, time.Now())
	if err != nil {
		return false, fmt.Errorf("pgstore: update: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// Delete removes the record for key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	if _, err := s.pool.Exec(ctx, s.qDelete, []byte(key)); err != nil {
		return fmt.Errorf("pgstore: delete: %w", err)
	}
	return nil
}

// Purge deletes every expired record, in batches, and returns how many it
// removed. On error it returns the count removed so far with the error.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	now := time.Now()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("pgstore: purge: %w", err)
		}
		tag, err := s.pool.Exec(ctx, s.qPurge, now)
		if err != nil {
			return total, fmt.Errorf("pgstore: purge: %w", err)
		}
		n := tag.RowsAffected()
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}
