package limits

import (
	"errors"
	"net/http"
	"strconv"
)

// Sentinel kinds of limit errors. Every *Error wraps exactly one of them, so
// callers branch with errors.Is(err, limits.ErrTooManyFields).
var (
	// ErrBodyTooLarge: the request body is larger than MaxBodyBytes (413).
	ErrBodyTooLarge = errors.New("limits: request body too large")
	// ErrDataTooBig: the non-file form data is larger than MaxFormBytes,
	// Django's RequestDataTooBig (400).
	ErrDataTooBig = errors.New("limits: request data too big")
	// ErrTooManyFields: more fields than MaxFields, Django's
	// TooManyFieldsSent (400).
	ErrTooManyFields = errors.New("limits: too many fields")
	// ErrTooManyFiles: more file parts than MaxFiles, Django's
	// TooManyFilesSent (400).
	ErrTooManyFiles = errors.New("limits: too many files")
	// ErrFileTooLarge: one file part is larger than MaxFileBytes (413).
	ErrFileTooLarge = errors.New("limits: file too large")
	// ErrHeaderTooLarge: a multipart part's header block is larger than
	// MaxPartHeaderBytes (400).
	ErrHeaderTooLarge = errors.New("limits: part header too large")
)

// Error reports which limit a request exceeded. Limit is the configuration
// key of the limit (for example "max_fields") and Value its configured value.
type Error struct {
	Kind  error  // one of the sentinel errors above
	Limit string // TOML key of the limit, e.g. "max_body_bytes"
	Value int64  // the configured value that was exceeded

	// reported is set, when the error is created, by the Handler's body
	// reader, which logs its refusal event as it detects the overflow;
	// WriteError then does not log it again. It never changes.
	reported bool
}

func (e *Error) Error() string {
	return e.Kind.Error() + " (" + e.Limit + " = " + strconv.FormatInt(e.Value, 10) + ")"
}

// Unwrap returns the sentinel kind.
func (e *Error) Unwrap() error { return e.Kind }

// Status is the HTTP status for the error: 413 for the byte caps Django
// leaves to the web server (total body, one file), 400 for the limits Django
// enforces itself (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent,
// and the multipart header guard), as Django answers them.
func (e *Error) Status() int {
	switch e.Kind {
	case ErrBodyTooLarge, ErrFileTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// Event is the stable name of the log event for the error.
func (e *Error) Event() string {
	switch e.Kind {
	case ErrBodyTooLarge:
		return "request_too_large"
	case ErrDataTooBig:
		return "request_data_too_big"
	case ErrTooManyFields:
		return "too_many_fields"
	case ErrTooManyFiles:
		return "too_many_files"
	case ErrFileTooLarge:
		return "file_too_large"
	case ErrHeaderTooLarge:
		return "part_header_too_large"
	}
	return "limit_exceeded"
}

func newError(kind error, limit string, value int64) *Error {
	return &Error{Kind: kind, Limit: limit, Value: value}
}

// Keys of the limits, as they appear in Error.Limit, in events and in TOML.
const (
	KeyBody            = "max_body_bytes"
	KeyForm            = "max_form_bytes"
	KeyFields          = "max_fields"
	KeyFiles           = "max_files"
	KeyFileBytes       = "max_file_bytes"
	KeyPartHeader      = "max_part_header_bytes"
	KeyMemoryThreshold = "file_memory_threshold"
)
