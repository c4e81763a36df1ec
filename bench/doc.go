// Package bench compares Bulwark with its peers in Go benchmarks.
//
// It is a module of its own so that the peers (unrolled/secure, gorilla/csrf,
// nosurf, scs) stay out of Bulwark's dependency graph. Run from this
// directory:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./... | tee new.txt
//
// Results and the machine they were measured on are recorded in
// ../docs/benchmarks.md.
package bench
