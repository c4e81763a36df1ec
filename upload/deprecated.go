package upload

import (
	"io"

	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// The content inspection lives in package
// github.com/bulwarkdev/bulwark/upload/inspect; these names stay for
// code written against the package before the split.

// Verdict is inspect.Verdict.
//
// Deprecated: use inspect.Verdict.
type Verdict = inspect.Verdict

// Policy is inspect.Policy.
//
// Deprecated: use inspect.Policy.
type Policy = inspect.Policy

// Inspect is inspect.File.
//
// Deprecated: use inspect.File.
func Inspect(r io.Reader, name string, policy inspect.Policy) (inspect.Verdict, error) {
	return inspect.File(r, name, policy)
}

// InspectBody is inspect.Body.
//
// Deprecated: use inspect.Body.
func InspectBody(r io.Reader, contentType string, policy inspect.Policy) (inspect.Verdict, error) {
	return inspect.Body(r, contentType, policy)
}

// Reencode is inspect.Reencode.
//
// Deprecated: use inspect.Reencode.
func Reencode(dst io.Writer, src io.Reader, mimeType string) error {
	return inspect.Reencode(dst, src, mimeType)
}

var (
	// DefaultAllow is inspect.DefaultAllow (the same slice).
	//
	// Deprecated: use inspect.DefaultAllow.
	DefaultAllow = inspect.DefaultAllow
	// ErrInvalidPolicy is inspect.ErrInvalidPolicy.
	//
	// Deprecated: use inspect.ErrInvalidPolicy.
	ErrInvalidPolicy = inspect.ErrInvalidPolicy
	// ErrCannotReencode is inspect.ErrCannotReencode.
	//
	// Deprecated: use inspect.ErrCannotReencode.
	ErrCannotReencode = inspect.ErrCannotReencode
)

const (
	// DefaultMaxPixels is inspect.DefaultMaxPixels.
	//
	// Deprecated: use inspect.DefaultMaxPixels.
	DefaultMaxPixels = inspect.DefaultMaxPixels
	// ReasonNotAllowed is inspect.ReasonNotAllowed.
	//
	// Deprecated: use inspect.ReasonNotAllowed.
	ReasonNotAllowed = inspect.ReasonNotAllowed
	// ReasonTypeMismatch is inspect.ReasonTypeMismatch.
	//
	// Deprecated: use inspect.ReasonTypeMismatch.
	ReasonTypeMismatch = inspect.ReasonTypeMismatch
	// ReasonHTML is inspect.ReasonHTML.
	//
	// Deprecated: use inspect.ReasonHTML.
	ReasonHTML = inspect.ReasonHTML
	// ReasonSVGScript is inspect.ReasonSVGScript.
	//
	// Deprecated: use inspect.ReasonSVGScript.
	ReasonSVGScript = inspect.ReasonSVGScript
	// ReasonXMLScript is inspect.ReasonXMLScript.
	//
	// Deprecated: use inspect.ReasonXMLScript.
	ReasonXMLScript = inspect.ReasonXMLScript
	// ReasonExecutable is inspect.ReasonExecutable.
	//
	// Deprecated: use inspect.ReasonExecutable.
	ReasonExecutable = inspect.ReasonExecutable
	// ReasonPolyglot is inspect.ReasonPolyglot.
	//
	// Deprecated: use inspect.ReasonPolyglot.
	ReasonPolyglot = inspect.ReasonPolyglot
	// ReasonTrailingData is inspect.ReasonTrailingData.
	//
	// Deprecated: use inspect.ReasonTrailingData.
	ReasonTrailingData = inspect.ReasonTrailingData
	// ReasonDisguisedArchive is inspect.ReasonDisguisedArchive.
	//
	// Deprecated: use inspect.ReasonDisguisedArchive.
	ReasonDisguisedArchive = inspect.ReasonDisguisedArchive
	// ReasonPixelBomb is inspect.ReasonPixelBomb.
	//
	// Deprecated: use inspect.ReasonPixelBomb.
	ReasonPixelBomb = inspect.ReasonPixelBomb
	// ReasonCorrupt is inspect.ReasonCorrupt.
	//
	// Deprecated: use inspect.ReasonCorrupt.
	ReasonCorrupt = inspect.ReasonCorrupt
	// ReasonEmpty is inspect.ReasonEmpty.
	//
	// Deprecated: use inspect.ReasonEmpty.
	ReasonEmpty = inspect.ReasonEmpty
	// ReasonTooLarge is inspect.ReasonTooLarge.
	//
	// Deprecated: use inspect.ReasonTooLarge.
	ReasonTooLarge = inspect.ReasonTooLarge
)
