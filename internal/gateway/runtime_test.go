package gateway

import (
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

func TestRuntimeValidate(t *testing.T) {
	for _, tc := range []struct {
		c    RuntimeConfig
		want string // "" valid, else part of the error
	}{
		{RuntimeConfig{}, ""},
		{RuntimeConfig{GCPercent: 400}, ""},
		{RuntimeConfig{GCPercent: 25, MemoryLimitBytes: 64 << 20}, ""},
		{RuntimeConfig{GCPercent: -1, MemoryLimitBytes: 1 << 30}, ""},
		{RuntimeConfig{GCPercent: -1}, "memory_limit_bytes too"},
		{RuntimeConfig{GCPercent: 10}, "gc_percent = 10"},
		{RuntimeConfig{GCPercent: 10001}, "gc_percent = 10001"},
		{RuntimeConfig{GCPercent: -5}, "gc_percent = -5"},
		{RuntimeConfig{MemoryLimitBytes: 1 << 20}, "memory_limit_bytes = 1048576"},
		{RuntimeConfig{MemoryLimitBytes: -1}, "memory_limit_bytes = -1"},
	} {
		err := tc.c.validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: validate = %v, want %q", tc.c, err, tc.want)
		}
	}
}

func TestRuntimeApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))

	// Zero: the gateway's default, no limit.
	t.Setenv("GOGC", "")
	unsetenv(t, "GOGC")
	if gc, lim := (RuntimeConfig{}).Apply(); gc != DefaultGCPercent || lim != 0 || debug.SetGCPercent(-1) != DefaultGCPercent {
		t.Errorf("zero config: Apply = %d, %d; want %d, 0 in force", gc, lim, DefaultGCPercent)
	}
	// GOGC in the environment (read by Go at start) wins over the default.
	debug.SetGCPercent(250)
	t.Setenv("GOGC", "250")
	if gc, _ := (RuntimeConfig{}).Apply(); gc != 250 || debug.SetGCPercent(-1) != 250 {
		t.Errorf("GOGC=250: Apply gave gc_percent %d, want 250", gc)
	}
	// The configuration wins over both.
	if gc, lim := (RuntimeConfig{GCPercent: 800, MemoryLimitBytes: 512 << 20}).Apply(); gc != 800 || lim != 512<<20 ||
		debug.SetGCPercent(-1) != 800 || debug.SetMemoryLimit(-1) != 512<<20 {
		t.Errorf("configured: Apply = %d, %d; want 800, %d in force", gc, lim, 512<<20)
	}
}

// unsetenv removes key for the test (t.Setenv first, so that it is
// restored afterwards).
func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
