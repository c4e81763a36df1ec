package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Body decides whether a request body that is not a form (a PUT of
// an image, a POST with Content-Type: image/png) is acceptable under
// policy, as File does for a file: by content. A body declared as data
// (JSON, XML, text; see isDataType), or undeclared and either plain text
// or of no known format, is an API's data, not a file: it is allowed
// unless its content is markup a browser renders or of another format. contentType, the
// request's Content-Type, plays the part of the file name: a specific
// type must agree with the content (a PNG sent as image/gif is refused,
// type_mismatch, as an application may store the body under the declared
// type); an absent or generic type (application/octet-stream) lets the
// content decide alone. The error is for read failures only.
func Body(r io.Reader, contentType string, policy Policy) (Verdict, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return Verdict{}, err
	}
	declared, _, perr := mime.ParseMediaType(contentType)
	if perr != nil {
		declared = ""
	}
	declared = strings.ToLower(declared)
	if isDataType(declared) {
		return inspectData(head, declared), nil
	}
	t := declared
	if t == "" || t == "application/octet-stream" || t == "binary/octet-stream" {
		// No claim: the content's own type names it. Content of no known
		// format (opaque bytes) and plain text are data, as a declared
		// data type is; anything with a format is inspected as a file of
		// that format.
		det := mimetype.Detect(head)
		if det.Parent() == nil {
			return Verdict{Type: "application/octet-stream", Allowed: true, Size: int64(len(head))}, nil
		}
		dt, _, _ := strings.Cut(det.String(), ";")
		if isText(det) {
			return inspectData(head, dt), nil
		}
		t = dt
	}
	if t == "image/vnd.mozilla.apng" {
		t = "image/png"
	}
	name := "body.unknown"
	if exts := extensionsOf(t); len(exts) > 0 {
		name = "body" + exts[0]
	}
	return File(br, name, policy)
}

// isDataType reports whether t is a type of structured data that an
// application parses (an API's JSON, XML or text) rather than stores and
// serves as a file: such a body is checked for content that a browser
// could run or render (inspectData), not against the file allow-list.
func isDataType(t string) bool {
	switch t {
	case "application/json", "application/xml", "text/xml", "text/plain", "text/csv",
		"application/x-ndjson", "application/graphql", "application/graphql-response+json":
		return true
	}
	return strings.HasPrefix(t, "application/") && (strings.HasSuffix(t, "+json") || strings.HasSuffix(t, "+xml"))
}

// inspectData judges a body declared as data (isDataType) by its first
// bytes: it is allowed when its content is text, and neither markup a
// browser renders (HTML, XHTML, SVG) nor XML that carries scripts,
// XHTML or a stylesheet (a browser runs those in an XML document served
// as such); anything else is refused, as a file named for another type
// is (type_mismatch).
func inspectData(head []byte, declared string) Verdict {
	v := Verdict{Type: declared, Size: int64(len(head))}
	det := mimetype.Detect(head)
	switch {
	case !isText(det):
		v.Reason = ReasonTypeMismatch
	case isMarkup(det) && isSVG(det):
		v.Reason = ReasonSVGScript
	case isMarkup(det):
		v.Reason = ReasonHTML
	case activeXML(head):
		v.Reason = ReasonXMLScript
	default:
		v.Allowed = true
		return v
	}
	v.Message = fmt.Sprintf("%s content declared as %s", det.String(), declared)
	return v
}

// isText reports whether m is plain text or a text format (JSON, XML,
// CSV, HTML...).
func isText(m *mimetype.MIME) bool { return isA(m, "text/plain") }

// isMarkup reports whether m is a document a browser renders with
// scripts: HTML, XHTML or SVG.
func isMarkup(m *mimetype.MIME) bool {
	return isA(m, "text/html", "application/xhtml+xml", "image/svg+xml")
}

// isSVG reports whether m is SVG.
func isSVG(m *mimetype.MIME) bool { return isA(m, "image/svg+xml") }

// isA reports whether m, or a type m is a kind of (its parents), is one
// of types.
func isA(m *mimetype.MIME, types ...string) bool {
	for ; m != nil; m = m.Parent() {
		for _, t := range types {
			if m.Is(t) {
				return true
			}
		}
	}
	return false
}

// activeXML reports whether head carries what makes an XML document
// active in a browser: the XHTML or SVG namespace, a script element or an
// xml-stylesheet instruction.
func activeXML(head []byte) bool {
	l := bytes.ToLower(head)
	for _, s := range [][]byte{[]byte("<script"), []byte("xml-stylesheet"), []byte("http://www.w3.org/1999/xhtml"), []byte("http://www.w3.org/2000/svg")} {
		if bytes.Contains(l, s) {
			return true
		}
	}
	return false
}
