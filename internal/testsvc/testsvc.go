// Package testsvc connects tests to the services some of them need: Redis
// and PostgreSQL on loopback, and a headless Chromium kept off the network.
//
// A test that asks for a service gets a working client, or is skipped when
// the service is unreachable, unless BULWARK_REQUIRE_SERVICES is set (CI
// sets it): then an unreachable service fails the test, so that a missing
// service can never turn a test run green by skipping.
//
// Addresses come from the environment:
//
//	BULWARK_REDIS_ADDR     host:port of Redis (default 127.0.0.1:6379)
//	BULWARK_POSTGRES_URL   PostgreSQL URL (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
//	BULWARK_GUNICORN       gunicorn to run Django apps with (default /usr/bin/gunicorn)
//	BULWARK_PEBBLE         the pebble ACME test server (default: on PATH, or /tmp/bulwark-ci-bin/pebble)
//
// Tests that must stop a server (SIGSTOP) start their own: StartRedis and
// StartPostgres; StartPebble runs an ACME server with a loopback DNS, and
// StartLoadBalancer a layer-4 balancer in front of several gateways.
//
// The package is for tests only; it imports the drivers, which is why it is
// internal and never imported by a core package.
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Defaults used when the environment names no service address.
const (
	DefaultRedisAddr   = "127.0.0.1:6379"
	DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// Required reports whether BULWARK_REQUIRE_SERVICES is set to a non-empty
// value, in which case an unreachable service fails a test instead of
// skipping it.
func Required() bool { return os.Getenv("BULWARK_REQUIRE_SERVICES") != "" }

// unavailable skips or fails t for a service that cannot be reached.
func unavailable(t testing.TB, service string, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("%s unreachable and BULWARK_REQUIRE_SERVICES is set: %v", service, err)
	}
	t.Skipf("%s unreachable (set BULWARK_REQUIRE_SERVICES=1 to fail instead): %v", service, err)
}

// RedisAddr returns the Redis address tests use.
func RedisAddr() string {
	if a := os.Getenv("BULWARK_REDIS_ADDR"); a != "" {
		return a
	}
	return DefaultRedisAddr
}

// Redis returns a client for the test Redis, closed when t ends, after
// checking that the server answers. See the package documentation for what
// happens when it does not. Tests share the server: keep to keys under a
// prefix from [Unique], and delete them.
func Redis(t testing.TB) redis.UniversalClient {
	t.Helper()
	// A plain dial first: the client would retry a refused connection
	// several times before giving up.
	conn, err := net.DialTimeout("tcp", RedisAddr(), 2*time.Second)
	if err != nil {
		unavailable(t, "Redis at "+RedisAddr(), err)
	}
	conn.Close()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr(), DialTimeout: 2 * time.Second, ContextTimeoutEnabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		unavailable(t, "Redis at "+RedisAddr(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// PostgresURL returns the PostgreSQL URL tests use.
func PostgresURL() string {
	if u := os.Getenv("BULWARK_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres returns a pool on the test database, closed when t ends, after
// checking that the server answers. See the package documentation for what
// happens when it does not. Tests share the database: keep to tables named
// with [Unique], and drop them.
func Postgres(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(PostgresURL())
	if err != nil {
		t.Fatalf("BULWARK_POSTGRES_URL: %v", err)
	}
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = p.Ping(ctx)
		if err != nil {
			p.Close()
		}
	}
	if err != nil {
		unavailable(t, "PostgreSQL", err)
	}
	t.Cleanup(p.Close)
	return p
}

// Unique returns prefix followed by 16 random hex digits: a name (table,
// key prefix) no other test run uses, made only of [a-z0-9_] when prefix is.
func Unique(prefix string) string {
	var b [8]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
