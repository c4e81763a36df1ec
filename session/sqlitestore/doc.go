// Package sqlitestore keeps server-side sessions in a SQLite database, with
// the pure-Go driver modernc.org/sqlite (no cgo). It is the store the demo
// uses: nothing to install, one file, and sessions survive restarts.
//
// # Schema
//
// One table, created on demand by [New] (default name bulwark_sessions):
//
//	CREATE TABLE IF NOT EXISTS "bulwark_sessions" (
//		key    BLOB    PRIMARY KEY,  -- the opaque key the manager passes
//		data   BLOB    NOT NULL,     -- the encoded session, as given
//		expiry INTEGER NOT NULL      -- absolute expiry, Unix nanoseconds
//	);
//	CREATE INDEX IF NOT EXISTS "bulwark_sessions_expiry" ON "bulwark_sessions" (expiry);
//
// Keys are bound as BLOBs, so they compare byte for byte whatever their
// content, and every statement is prepared with parameters: no key or value
// ever becomes SQL text.
//
// # Expiry
//
// Find ignores rows whose expiry has passed, so an expired session is dead
// the moment it expires even if its row is still on disk. Update (what the
// manager uses to save a session it loaded) is an UPDATE of a live row
// only, so a save racing a logout or an expiry cannot bring the session
// back. Rows are removed by
// [Store.Purge] (run it from [session.Sweep] or "bulwark sessions purge"),
// which deletes in small batches so that it never holds the write lock for
// long.
//
// # Concurrency
//
// [Open] puts the database in WAL mode (readers never wait for the writer)
// with a busy timeout, so several processes can share the file. Within a
// process the store lets one write at a time through, waiting for its turn
// under the caller's context, since SQLite has a single writer anyway and
// queuing in Go is cheaper than retrying on SQLITE_BUSY.
//
// # Threat model
//
// The store sees only keys the session manager derived from session ids by
// hashing, never the ids themselves. An attacker who can read the database
// file (a backup, a stolen disk, a path traversal elsewhere) learns session
// data and expiries, but cannot turn a key back into a cookie, so cannot
// hijack a session with what the file holds. Session data is stored as the
// manager encoded it: if it holds secrets, encrypt them before they reach
// the session. An attacker who can write the file can do anything a session
// can (plant records, extend expiries): protect it like the application's
// own database, with file permissions ([Open] creates a new file with mode
// 0600, and SQLite gives its -wal and -shm files the same mode). A row that cannot be
// read as a session (wrong type, tampered by hand) is reported as not found,
// never as a valid empty session; a database error is returned as an error,
// never as "not found", so the manager fails closed with 503 rather than
// silently starting an anonymous session. The store never logs, so keys
// cannot leak through it into logs.
package sqlitestore
