package spool

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
)

// Reasons of Fault: stable slugs for events and metrics.
const (
	ReasonTimeout    = "body_timeout"    // the client stopped sending (408)
	ReasonIncomplete = "body_incomplete" // the client went away before the end of its body (400)
	ReasonMalformed  = "body_malformed"  // the body's framing is broken: a bad chunked encoding (400)
)

// Fault classifies an error from reading a request body from its client:
// a deadline that expired (the client stalled) is 408 ReasonTimeout; a
// connection that ended early is 400 ReasonIncomplete; anything else the
// server's body reader returns (a malformed chunked encoding) is 400
// ReasonMalformed. Every one of them is the client's fault. Caps
// (limits.Error, 413) are the caller's to recognise first.
func Fault(err error) (status int, reason string) {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, ReasonTimeout
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, context.Canceled), errors.Is(err, http.ErrBodyReadAfterClose):
		return http.StatusBadRequest, ReasonIncomplete
	}
	return http.StatusBadRequest, ReasonMalformed
}
