package ratelimit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidRate is wrapped by ParseRate's errors.
var ErrInvalidRate = errors.New("ratelimit: invalid rate")

// MaxPerSecond bounds a rate: a faster one would make the emission
// interval shorter than the microsecond the remote stores count in.
const MaxPerSecond = 1_000_000

// Rate is a number of requests per period.
type Rate struct {
	// N is the number of requests, at least 1.
	N int
	// Period is time.Second, time.Minute or time.Hour.
	Period time.Duration
}

// ParseRate parses "N/s", "N/m" or "N/h" (N a decimal integer from 1 up,
// no sign, no spaces): N requests per second, minute or hour.
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("%w: %q: write N/s, N/m or N/h", ErrInvalidRate, s)
	}
	var per time.Duration
	switch unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		return Rate{}, fmt.Errorf("%w: %q: the period is s, m or h", ErrInvalidRate, s)
	}
	if num == "" || len(num) > 9 || strings.TrimLeft(num, "0123456789") != "" || num[0] == '0' {
		return Rate{}, fmt.Errorf("%w: %q: the count is a whole number from 1 up", ErrInvalidRate, s)
	}
	n, _ := strconv.Atoi(num)
	r := Rate{N: n, Period: per}
	if r.Interval() < time.Microsecond {
		return Rate{}, fmt.Errorf("%w: %q: at most %d per second", ErrInvalidRate, s, MaxPerSecond)
	}
	return r, nil
}

// Interval is the GCRA emission interval: Period/N.
func (r Rate) Interval() time.Duration { return r.Period / time.Duration(r.N) }

// String returns the rate in ParseRate's syntax.
func (r Rate) String() string {
	u := "s"
	switch r.Period {
	case time.Minute:
		u = "m"
	case time.Hour:
		u = "h"
	}
	return strconv.Itoa(r.N) + "/" + u
}
