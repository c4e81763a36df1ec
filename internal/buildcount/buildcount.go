// Package buildcount counts the chains bulwark.New builds in this
// process, so that tests can hold the gateway to one build per start and
// per reload (validating or printing a configuration builds nothing).
package buildcount

import "sync/atomic"

// Chains is the number of chains bulwark.New has built.
var Chains atomic.Int64
