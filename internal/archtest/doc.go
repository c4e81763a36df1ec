// Package archtest holds the tests that keep Bulwark's package structure
// honest. It has no code of its own.
//
// The rules (see docs/architecture.md):
//   - the core packages (every package of the module but the session
//     stores, cmd/ and internal/) import no database or network driver, so
//     that an application using the library links none it did not choose,
//     and the stores could move to modules of their own;
//   - trustedproxy sits at the bottom and imports nothing else of the
//     module but the per-request record (internal/reqstate) and the
//     refusal event (internal/refusal), so every other package can read
//     request facts through it and it knows none of them;
//   - each part of the per-request record is written by its owner only:
//     the writers of internal/reqstate are called from the owning package
//     and nowhere else (tests use internal/reqstate/reqstatetest, which
//     only tests may import).
package archtest
