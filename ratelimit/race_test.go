//go:build race

package ratelimit_test

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random), so allocation pins are skipped under -race.
const raceEnabled = true
