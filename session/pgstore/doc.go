// Package pgstore keeps server-side sessions in PostgreSQL, with
// github.com/jackc/pgx/v5 (a *pgxpool.Pool). Every application instance
// can share it, which makes it, with Redis, the store for running several
// gateways or application servers behind a load balancer.
//
// # Schema
//
// One table, created on demand by [New] (default name bulwark_sessions, in
// the connection's search_path unless Config.Schema names one):
//
//	CREATE TABLE IF NOT EXISTS "bulwark_sessions" (
//		key    bytea       PRIMARY KEY,  -- the opaque key the manager passes
//		data   bytea       NOT NULL,     -- the encoded session, as given
//		expiry timestamptz NOT NULL      -- absolute expiry
//	);
//	CREATE INDEX IF NOT EXISTS "bulwark_sessions_expiry" ON "bulwark_sessions" (expiry);
//
// Keys are bytea, so any byte string is a key (text would refuse NUL bytes
// and invalid UTF-8, turning a forged cookie into a database error) and
// keys compare byte for byte, free of collations. Names come from a
// validated Config and are quoted with pgx.Identifier; keys, data and
// times are always bind parameters. Instances starting at once serialise
// the schema creation on an advisory lock, since CREATE TABLE IF NOT EXISTS
// alone can race.
//
// # Expiry
//
// Commit writes with INSERT ... ON CONFLICT (key) DO UPDATE, one statement;
// Update (what the manager uses to save a session it loaded) is an UPDATE
// of a live row only, so a save racing a logout or an expiry cannot bring
// the session back.
// Find ignores rows whose expiry has passed, comparing with the
// application's clock (the one that computed the expiry), so a session is
// dead the moment it expires even if its row remains. Rows are removed by
// [Store.Purge] (from [session.Sweep] or "bulwark sessions purge"): batches
// of 1000 rows, each its own short transaction, locking with SKIP LOCKED so
// that purgers on several instances share the work instead of waiting on
// each other.
//
// # Threat model
//
// The store sees only keys the session manager derived from session ids by
// hashing, never the ids themselves. An attacker who can read the table (a
// read replica, a backup, an SQL injection elsewhere in the application)
// learns session data and expiries but cannot turn a key into a cookie, so
// cannot hijack a session from what the table holds; if session data holds
// secrets, encrypt them before they reach the session. An attacker who can
// write the table can plant or extend any session: give the application a
// role with rights on this table only where you can. Every database error,
// including a timeout or a lost connection, is returned as an error, never
// as "not found", so the manager fails closed (503) rather than treating an
// outage as an empty session. Errors never quote the key, and the store
// never logs.
package pgstore
