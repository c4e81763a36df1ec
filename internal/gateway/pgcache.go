package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/acme/autocert"
)

// PostgresCache is an autocert.Cache in PostgreSQL, so that several
// gateways behind one load balancer share one ACME account and one set of
// certificates (each would otherwise order its own, and hit the CA's rate
// limits). Entries hold private keys: restrict access to the table.
type PostgresCache struct {
	pool  *pgxpool.Pool
	table string
}

var _ autocert.Cache = (*PostgresCache)(nil)

// PostgresCacheTable is the table NewPostgresCache creates if missing.
const PostgresCacheTable = "bulwark_acme_cache"

// NewPostgresCache connects to url and creates the cache table if needed.
func NewPostgresCache(ctx context.Context, url string) (*PostgresCache, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("gateway: acme cache: %w", err)
	}
	c := &PostgresCache{pool: pool, table: PostgresCacheTable}
	_, err = pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+c.table+` (
		key text PRIMARY KEY,
		data bytea NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now())`)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("gateway: acme cache: creating table: %w", err)
	}
	return c, nil
}

// Get returns the entry for key, or autocert.ErrCacheMiss.
func (c *PostgresCache) Get(ctx context.Context, key string) ([]byte, error) {
	var data []byte
	err := c.pool.QueryRow(ctx, `SELECT data FROM `+c.table+` WHERE key = $1`, key).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, autocert.ErrCacheMiss
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: acme cache: %w", err)
	}
	return data, nil
}

// Put stores data under key, replacing any previous entry.
func (c *PostgresCache) Put(ctx context.Context, key string, data []byte) error {
	_, err := c.pool.Exec(ctx, `INSERT INTO `+c.table+` (key, data, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, updated_at = now()`, key, data)
	if err != nil {
		return fmt.Errorf("gateway: acme cache: %w", err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (c *PostgresCache) Delete(ctx context.Context, key string) error {
	if _, err := c.pool.Exec(ctx, `DELETE FROM `+c.table+` WHERE key = $1`, key); err != nil {
		return fmt.Errorf("gateway: acme cache: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (c *PostgresCache) Close() { c.pool.Close() }
