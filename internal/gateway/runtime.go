package gateway

import (
	"math"
	"os"
	"runtime/debug"
)

// RuntimeConfig tunes the Go runtime of the process serving the gateway:
// the garbage collector's pace and a soft memory limit. The gateway
// allocates a few kilobytes per request over a live heap of a few
// megabytes, so with Go's default pace (a collection each time the heap
// doubles) a busy gateway collects tens of times a second; a larger
// gc_percent spends memory to save that work (docs/benchmarks.md, "Cost
// per request"). [runtime] applies at start; a reload that changes it
// needs a restart.
type RuntimeConfig struct {
	// GCPercent is the collector's target (Go's GOGC): a collection
	// starts when the heap has grown this many percent over what the
	// last one left live. Zero means the GOGC environment variable when
	// set, else DefaultGCPercent. -1 turns the collector off until
	// MemoryLimitBytes is reached, and requires it. Otherwise it must lie
	// between 25 and 10000.
	GCPercent int `toml:"gc_percent"`
	// MemoryLimitBytes is a soft limit on the memory the Go runtime
	// uses (Go's GOMEMLIMIT): near it, the collector runs as often as it
	// must, whatever GCPercent says, so a burst is paid in CPU rather than
	// in memory. Zero means the GOMEMLIMIT environment variable when set,
	// else no limit. At least 64 MiB when set.
	MemoryLimitBytes int64 `toml:"memory_limit_bytes"`
}

// DefaultGCPercent is gc_percent's default, measured with
// scripts/bench-gateway.sh: the CPU per proxied request drops by about a
// tenth from Go's 100, for a heap of tens of megabytes at most under load.
const DefaultGCPercent = 400

const minMemoryLimit = 64 << 20

func (c RuntimeConfig) validate() error {
	switch {
	case c.GCPercent == -1 && c.MemoryLimitBytes == 0:
		return invalid("runtime.gc_percent = -1 turns the collector off: set runtime.memory_limit_bytes too")
	case c.GCPercent != 0 && c.GCPercent != -1 && (c.GCPercent < 25 || c.GCPercent > 10000):
		return invalid("runtime.gc_percent = %d: must lie between 25 and 10000 (or -1 with a memory limit)", c.GCPercent)
	case c.MemoryLimitBytes < 0 || c.MemoryLimitBytes > 0 && c.MemoryLimitBytes < minMemoryLimit:
		return invalid("runtime.memory_limit_bytes = %d: must be 0 (no limit) or at least %d", c.MemoryLimitBytes, minMemoryLimit)
	}
	return nil
}

// Apply sets the process's collector target and memory limit from c, the
// environment (GOGC, GOMEMLIMIT: Go has read them already) filling what c
// leaves zero, and returns the values in force (memoryLimit 0: none). The
// settings are the process's: bulwark serve applies them once, at start.
func (c RuntimeConfig) Apply() (gcPercent int, memoryLimit int64) {
	gcPercent = c.GCPercent
	if gcPercent == 0 {
		if _, ok := os.LookupEnv("GOGC"); ok {
			gcPercent = debug.SetGCPercent(-1) // read the environment's value back
		} else {
			gcPercent = DefaultGCPercent
		}
	}
	debug.SetGCPercent(gcPercent)
	memoryLimit = debug.SetMemoryLimit(-1) // GOMEMLIMIT, or no limit
	if c.MemoryLimitBytes > 0 {
		memoryLimit = c.MemoryLimitBytes
		debug.SetMemoryLimit(memoryLimit)
	}
	if memoryLimit == math.MaxInt64 {
		memoryLimit = 0
	}
	return gcPercent, memoryLimit
}
