package trustedproxy

import (
	"errors"
	"strconv"

	"github.com/bulwarkdev/bulwark/internal/refusal"
)

// ErrMalformed is wrapped by every error about a forwarded header that a
// trusted proxy sent but that cannot be read safely. Such a request is
// refused (400) rather than guessed at: a client address or an https scheme
// taken from garbage is worse than no answer.
var ErrMalformed = errors.New("trustedproxy: malformed forwarded header")

// Reasons carried by MalformedError.Reason, also logged as the "reason" of
// the forwarded_malformed event.
const (
	ReasonTooLong            = "too_long"            // over MaxHeaderBytes
	ReasonTooManyHops        = "too_many_hops"       // over MaxHops elements
	ReasonEmpty              = "empty_element"       // an empty list element or header
	ReasonSyntax             = "syntax"              // not RFC 7239 syntax
	ReasonDuplicateParameter = "duplicate_parameter" // a Forwarded parameter twice in one element
	ReasonInvalidNode        = "invalid_node"        // a for= or by= value that is no RFC 7239 node
	ReasonInvalidAddress     = "invalid_address"     // an X-Forwarded-For element that is no IP address
	ReasonZone               = "zone"                // an IPv6 address with a zone
	ReasonInvalidProto       = "invalid_proto"       // a proto= value that is no URI scheme
	ReasonInvalidPort        = "invalid_port"        // an X-Forwarded-Port that is no port
)

// MalformedError describes a forwarded header refused as malformed.
type MalformedError struct {
	Header string // the header's name, e.g. "X-Forwarded-For"
	Reason string // one of the Reason constants
	Value  string // the offending element or value, truncated
}

func (e *MalformedError) Error() string {
	s := "trustedproxy: malformed " + e.Header + " header: " + e.Reason
	if e.Value != "" {
		s += ": " + strconv.Quote(e.Value)
	}
	return s
}

// Is makes errors.Is(err, ErrMalformed) true.
func (e *MalformedError) Is(target error) bool { return target == ErrMalformed }

func malformed(header, reason, value string) *MalformedError {
	return &MalformedError{Header: header, Reason: reason, Value: refusal.Truncate(value, 128)}
}
