package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgStore keeps values in "<prefix>_kv" and leases in "<prefix>_lock",
// created by Open when missing.
type pgStore struct {
	pool              *pgxpool.Pool
	kv, lock          string
	get, put, del     string
	list, try, unlock string
}

func openPostgres(ctx context.Context, o Options) (Store, error) {
	pc, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres URL does not parse", ErrInvalid)
	}
	pc.ConnConfig.ConnectTimeout = o.Timeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("cluster: postgres: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*o.Timeout)
	defer cancel()
	s, err := NewPostgres(ctx, pool, o.Prefix)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// NewPostgres returns a Store on pool with tables named after prefix
// (DefaultPrefix when empty), creating them if needed. Close closes pool.
func NewPostgres(ctx context.Context, pool *pgxpool.Pool, prefix string) (Store, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !prefixRE.MatchString(prefix) {
		return nil, fmt.Errorf("%w: prefix %q", ErrInvalid, prefix)
	}
	s := &pgStore{pool: pool, kv: prefix + "_kv", lock: prefix + "_lock"}
	s.get = `SELECT value, modified FROM ` + s.kv + ` WHERE key = $1`
	s.put = `INSERT INTO ` + s.kv + ` (key, value, modified) VALUES ($1, $2, clock_timestamp())
		ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, modified = EXCLUDED.modified`
	s.del = `DELETE FROM ` + s.kv + ` WHERE key = $1`
	s.list = `SELECT key FROM ` + s.kv + ` WHERE starts_with(key, $1)`
	// A free or expired lease is taken, the owner's own extended; the
	// row comes back only when the caller holds the lease afterwards.
	s.try = `INSERT INTO ` + s.lock + ` AS l (name, owner, expires)
		VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires = EXCLUDED.expires
		WHERE l.owner = EXCLUDED.owner OR l.expires < clock_timestamp()
		RETURNING owner`
	s.unlock = `DELETE FROM ` + s.lock + ` WHERE name = $1 AND owner = $2`
	// Gateways starting together would race CREATE TABLE IF NOT EXISTS
	// (it is not atomic against itself); an advisory lock serialises them.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, s.kv); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.kv+` (
			key text PRIMARY KEY,
			value bytea NOT NULL,
			modified timestamptz NOT NULL)`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.lock+` (
			name text PRIMARY KEY,
			owner text NOT NULL,
			expires timestamptz NOT NULL)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: postgres: creating tables: %w", err)
	}
	return s, nil
}

func (s *pgStore) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	var (
		v []byte
		m time.Time
	)
	err := s.pool.QueryRow(ctx, s.get, key).Scan(&v, &m)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("cluster: postgres: %w", err)
	}
	return v, m, nil
}

func (s *pgStore) Put(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	if _, err := s.pool.Exec(ctx, s.put, key, value); err != nil {
		return fmt.Errorf("cluster: postgres: %w", err)
	}
	return nil
}

func (s *pgStore) Delete(ctx context.Context, key string) error {
	if _, err := s.pool.Exec(ctx, s.del, key); err != nil {
		return fmt.Errorf("cluster: postgres: %w", err)
	}
	return nil
}

func (s *pgStore) List(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.pool.Query(ctx, s.list, prefix)
	if err != nil {
		return nil, fmt.Errorf("cluster: postgres: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("cluster: postgres: %w", err)
	}
	return keys, nil
}

func (s *pgStore) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	var got string
	err := s.pool.QueryRow(ctx, s.try, name, owner, max(ttl.Milliseconds(), 1)).Scan(&got)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: postgres: %w", err)
	}
	return got == owner, nil
}

func (s *pgStore) Unlock(ctx context.Context, name, owner string) error {
	if _, err := s.pool.Exec(ctx, s.unlock, name, owner); err != nil {
		return fmt.Errorf("cluster: postgres: %w", err)
	}
	return nil
}

func (s *pgStore) Close() error {
	s.pool.Close()
	return nil
}
