package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/internal/sqlident"
	"github.com/bulwarkdev/bulwark/session"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DefaultTable is the table name used when Config.Table is empty.
const DefaultTable = "bulwark_sessions"

// purgeBatch is how many rows one Purge statement deletes: small enough to
// hold SQLite's single write lock for milliseconds, not seconds.
const purgeBatch = 1000

// Config configures a Store. The zero value is valid.
type Config struct {
	// Table is the name of the sessions table, created if missing. It must
	// be an identifier: an ASCII letter or underscore, then letters, digits
	// or underscores, at most 64 characters. Zero value: DefaultTable
	// ("bulwark_sessions").
	Table string `toml:"table"`
}

// Validate reports whether c is usable.
func (c Config) Validate() error {
	if c.Table != "" && !sqlident.Valid(c.Table, 64) {
		return fmt.Errorf("sqlitestore: table name %q is not an identifier (letters, digits, underscores; at most 64)", c.Table)
	}
	return nil
}

// Store is a session.Store and session.Purger backed by SQLite. It is safe
// for concurrent use.
type Store struct {
	db     *sql.DB
	ownsDB bool
	// write admits one writer at a time (see the package documentation).
	write chan struct{}

	qFind, qCommit, qUpdate, qDelete, qPurge string
}

var (
	_ session.Store   = (*Store)(nil)
	_ session.Purger  = (*Store)(nil)
	_ session.Updater = (*Store)(nil)
)

// New returns a Store on db, creating its table and index if they do not
// exist. db must be opened with the "sqlite" driver of modernc.org/sqlite.
// New switches the database to WAL mode (a property of the file); the busy
// timeout is a property of each connection, so set it in db's DSN
// ("?_pragma=busy_timeout(5000)") or use [Open], which does. Closing the
// Store does not close db.
func New(ctx context.Context, db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqlitestore: nil *sql.DB")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	// table is a validated identifier; quoting it too keeps keywords
	// ("order", "key") usable as names.
	q := `"` + table + `"`
	schema := []string{
		`PRAGMA journal_mode=WAL`,
		`CREATE TABLE IF NOT EXISTS ` + q + ` (key BLOB PRIMARY KEY, data BLOB NOT NULL, expiry INTEGER NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS "` + table + `_expiry" ON ` + q + ` (expiry)`,
	}
	for _, stmt := range schema {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("sqlitestore: creating schema: %w", err)
		}
	}
	return &Store{
		db:      db,
		write:   make(chan struct{}, 1),
		qFind:   `SELECT data FROM ` + q + ` WHERE key = ? AND expiry > ?`,
		qCommit: `INSERT INTO ` + q + ` (key, data, expiry) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data, expiry = excluded.expiry`,
		qUpdate: `UPDATE ` + q + ` SET data = ?, expiry = ? WHERE key = ? AND expiry > ?`,
		qDelete: `DELETE FROM ` + q + ` WHERE key = ?`,
		qPurge:  `DELETE FROM ` + q + ` WHERE rowid IN (SELECT rowid FROM ` + q + ` WHERE expiry <= ? LIMIT ` + fmt.Sprint(purgeBatch) + `)`,
	}, nil
}

// Open opens (creating if needed, with mode 0600) the SQLite database file
// at path, in WAL mode with a 5 s busy timeout, and returns a Store on it
// with the default Config. Close the Store to close the database.
func Open(path string) (*Store, error) {
	return OpenConfig(context.Background(), path, Config{})
}

// OpenConfig is Open with a context for the schema creation and a Config.
func OpenConfig(ctx context.Context, path string, cfg Config) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlitestore: %q is not a file path (use New with your own *sql.DB for other DSNs)", path)
	}
	path = filepath.Clean(path)
	// Create the file ourselves so that it is private to this user from
	// its first byte; SQLite would create it with 0644 less the umask.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	f.Close()
	// A "file:" URI, with the characters URIs give meaning to escaped, so
	// that any file name is taken literally.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path)) +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	s, err := New(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// Close closes the database if the Store opened it (Open, OpenConfig) and
// does nothing otherwise.
func (s *Store) Close() error {
	if !s.ownsDB {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: %w", err)
	}
	return nil
}

// Find returns the data stored under key, if its record exists and has not
// expired.
func (s *Store) Find(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("sqlitestore: find: %w", err)
	}
	// Scanned as any: a column that holds something other than a BLOB or
	// TEXT (a row written by hand, a damaged table) is unusable, and an
	// unusable record is "not found", never an empty session.
	var v any
	err := s.db.QueryRowContext(ctx, s.qFind, []byte(key), time.Now().UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlitestore: find: %w", err)
	}
	switch v := v.(type) {
	case []byte:
		// database/sql hands out a copy for a *any destination, so the
		// caller owns it.
		if v == nil {
			v = []byte{}
		}
		return v, true, nil
	case string:
		return []byte(v), true, nil
	default:
		return nil, false, nil
	}
}

// Commit stores data under key until expiry, replacing any record for key.
func (s *Store) Commit(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if data == nil {
		data = []byte{} // nil binds as NULL
	}
	if _, err := s.exec(ctx, s.qCommit, []byte(key), data, unixNano(expiry)); err != nil {
		return fmt.Errorf("sqlitestore: commit: %w", err)
	}
	return nil
}

// Update replaces the record for key only if it exists and has not
// expired, in one UPDATE statement. found == false means nothing was
// written: the session was deleted meanwhile (a logout in a concurrent
// request) or has expired.
func (s *Store) Update(ctx context.Context, key string, data []byte, expiry time.Time) (bool, error) {
	if data == nil {
		data = []byte{}
	}
	res, err := s.exec(ctx, s.qUpdate, data, unixNano(expiry), []byte(key), time.Now().UnixNano())
	if err != nil {
		return false, fmt.Errorf("sqlitestore: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlitestore: update: %w", err)
	}
	return n > 0, nil
}

// Delete removes the record for key, if any.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := s.exec(ctx, s.qDelete, []byte(key)); err != nil {
		return fmt.Errorf("sqlitestore: delete: %w", err)
	}
	return nil
}

// Purge deletes every expired record, in batches, and returns how many it
// removed. On error it returns the count removed so far with the error.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	now := time.Now().UnixNano()
	var total int64
	for {
		// One batch per turn of the write slot: writers queued behind a
		// long purge get in between batches.
		res, err := s.exec(ctx, s.qPurge, now)
		if err != nil {
			return total, fmt.Errorf("sqlitestore: purge: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlitestore: purge: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// exec runs one write statement in the write slot.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer s.unlock()
	return s.db.ExecContext(ctx, query, args...)
}

// lock waits for the write slot, or for ctx.
func (s *Store) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.write <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlock() { <-s.write }

// unixNano is t as Unix nanoseconds, clamped to the int64 range (beyond
// year 2262 or before 1678) instead of wrapping around, which would turn a
// far-future expiry into a past one or the reverse.
func unixNano(t time.Time) int64 {
	const maxSec = (1<<63 - 1) / int64(time.Second)
	switch sec := t.Unix(); {
	case sec >= maxSec:
		return 1<<63 - 1
	case sec <= -maxSec:
		return -1 << 63
	}
	return t.UnixNano()
}
