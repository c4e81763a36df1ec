// Package memstore is an in-memory session.Store for tests, development
// and single-process deployments.
//
// Records live in one map guarded by a mutex. The store is bounded
// (Config.MaxEntries) and sweeps expired records as it goes, so it needs
// no goroutine and no Close. Sessions do not survive a restart and are not
// shared between processes: use a SQL or Redis store for that.
//
// # Threat model
//
// Stops: memory exhaustion by session creation (the bound; when full,
// expired records are swept and then the record closest to expiry among a
// random sample is evicted, so a flood of new sessions logs out the
// oldest-expiring users rather than crashing the process); reading another
// session's data through a shared slice (data is copied in and out).
//
// Does not stop: a flood evicting real users' sessions (rate-limit session
// creation in front of it, or use a persistent store); anything that reads
// the process's memory. Keys are the manager's hashes of session ids, so a
// memory dump does not yield usable cookies.
package memstore
