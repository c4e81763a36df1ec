// Package reqstatetest builds requests carrying a per-request record with
// chosen facts, for tests of a layer without the layers in front of it.
// It is the one place besides the owners that writes the record, and is
// imported by tests only.
package reqstatetest

import (
	"net/http"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

// With returns a shallow copy of r carrying a record with the connection
// facts c and, when validated, host as the validated host. A record r
// already carries is written in place.
func With(r *http.Request, c reqstate.Conn, host string, validated bool) *http.Request {
	r, rec := reqstate.Attach(r)
	reqstate.SetConn(rec, c)
	if validated {
		reqstate.SetValidatedHost(rec, host)
	}
	return r
}

// Reset empties the layer state of the record of r (limits, session,
// CSRF), so that an allocation benchmark can replay one request.
func Reset(r *http.Request) {
	if rec := reqstate.From(r); rec != nil {
		reqstate.SetLimits(rec, nil)
		reqstate.SetSession(rec, nil)
		reqstate.SetCSRF(rec, nil)
	}
}
