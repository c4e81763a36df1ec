// Package sessiontest is the conformance suite for session stores.
//
// Every [session.Store] in this module runs it, and so should a store
// written outside it:
//
//	func TestConformance(t *testing.T) {
//		sessiontest.Run(t, func(t *testing.T) session.Store {
//			return newIsolatedStore(t) // a fresh, empty store for each subtest
//		})
//	}
//
// The suite checks the contract written on [session.Store] and
// [session.Purger] against the store itself, with real time: round trips,
// overwrites, expiry, deletion, key rotation, hostile keys, concurrency
// (run it under -race), large and empty values, context cancellation, data
// isolation and, for stores that implement [session.Purger], purging. It
// sleeps for well under a second in all, so it is fast enough to run
// against a real database or cache on every test run. Its helpers (Key,
// HostileKeys, MustCommit, MustFind, MustNotFind, MustFailClosed,
// MustNotLog) serve a store's own tests too.
//
// # Threat model
//
// The suite pins down the properties the session manager's security rests
// on, so that no store can quietly break them:
//   - a session past its expiry is dead, whether or not it was purged;
//   - a rotated (renewed) or deleted key stays dead, so a stolen or planted
//     id is worthless after login or logout;
//   - keys are opaque bytes: quotes, comment markers, glob patterns, CRLF,
//     NUL and invalid UTF-8 neither inject into the store's queries nor
//     match another record, and keys are never folded or trimmed;
//   - "not found" and "failed" are never confused: unknown keys give
//     (nil, false, nil), and a done context gives an error and writes
//     nothing, so the manager can fail closed;
//   - stores copy data in and out, so one request cannot alter another's
//     session through a shared slice.
//
// It cannot show that a store reports its own outages as errors rather
// than as "not found" (it has no way to break an arbitrary backend): each
// store breaks its own backend and hands the store to MustFailClosed, as
// this module's stores do.
package sessiontest
