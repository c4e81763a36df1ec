// Package redisstore keeps server-side sessions in Redis, with
// github.com/redis/go-redis/v9. It takes any redis.UniversalClient, so a
// single server, a Sentinel failover client or a Cluster client all work:
// the store touches exactly one key per command, so it never needs keys to
// share a hash slot.
//
// # Keys and values
//
// A session lives at Config.Prefix followed by the key the manager passes
// (default prefix "bulwark:session:"), as a plain string value holding the
// encoded session exactly as given. Keys are binary-safe: Redis compares
// them byte for byte, and go-redis sends them as length-prefixed bulk
// strings, so no key can inject a command.
//
// # Round trips
//
// Find is one GET, Commit one SET with PX, Update (replace only if the
// record still exists, so a save racing a logout cannot bring the session
// back) one SET with PX and XX, Delete one DEL: a request that only reads
// its session costs one round trip to Redis, and one that changes it costs
// two (the read, then the write).
//
// # Expiry
//
// Redis expires records by itself: Commit sets a TTL of the time left until
// the expiry, rounded down to the millisecond so that a record never
// outlives its expiry, and a Commit whose expiry is already past deletes
// the key instead. The TTL is relative, so the clocks of the application
// and of Redis need not agree. There is nothing to purge, so Store does
// not implement session.Purger.
//
// # Threat model
//
// The store sees only keys the session manager derived from session ids by
// hashing, never the ids themselves. An attacker who can read Redis (a
// replica, a dump.rdb, MONITOR on a shared instance) learns session data
// and TTLs but cannot turn a key into a cookie, so cannot hijack a session
// from what Redis holds; if session data holds secrets, encrypt them before
// they reach the session. An attacker who can write to Redis can plant or
// extend any session: require AUTH (or ACLs limiting the application's
// user to its prefix, e.g. "~bulwark:session:*") and TLS off loopback.
// A value at a session key that is not a string (tampering, or another
// application's key under the same prefix) is reported as not found; every
// other error, including a timeout, is returned as an error, never as "not
// found", so the manager fails closed (503) instead of treating a Redis
// outage as an empty session. Errors never quote the key, and the store
// never logs.
package redisstore
