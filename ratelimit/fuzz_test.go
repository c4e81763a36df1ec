package ratelimit_test

import (
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// FuzzParseRate: a rate is accepted only in its one canonical spelling
// (String gives the input back), with a count of at least one and an
// emission interval from 1µs to 1h, so that no spelling reaches the
// stores with a zero, negative or overflowing interval.
func FuzzParseRate(f *testing.F) {
	seeds := []string{"1/s", "5/m", "100/h", "1000000/s", "0/s", "01/m", "-1/s", "1/d", "1/", "/s", "", "9999999999/s", "1/s/s"}
	for _, s := range seeds {
		f.Add(s)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			return
		}
		if r.String() != s {
			t.Fatalf("ParseRate(%q).String() = %q", s, r.String())
		}
		if r.N < 1 || r.Interval() < time.Microsecond || r.Interval() > time.Hour {
			t.Fatalf("ParseRate(%q) = %+v, interval %s", s, r, r.Interval())
		}
	})
}
