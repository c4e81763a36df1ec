package gateway

import "math/rand/v2"

// newRequestID makes the id of one request: it names the request in the
// access log, in the refusal events of every layer and on a refusal page
// (X-Request-Id), so that a user who quotes it leads the operator to the
// log lines. It is made by the gateway, never taken from the client (a
// client-chosen id would let one request pass for another in the logs).
// 64 random bits in hex: unique enough to find a line among a day's, and
// no secret.
func newRequestID() [16]byte {
	const hex = "0123456789abcdef"
	var id [16]byte
	n := rand.Uint64()
	for i := len(id) - 1; i >= 0; i-- {
		id[i] = hex[n&15]
		n >>= 4
	}
	return id
}
