package upload

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/limits"
	"github.com/gabriel-vasile/mimetype"
)

// Values of Config.RawBodies.
const (
	// RawInspect (the default) inspects a body that is not a form as one
	// file.
	RawInspect = "inspect"
	// RawRefuse refuses a body that is not a form with 415.
	RawRefuse = "refuse"
)

// ReasonRawBody is the Verdict reason of a body refused because it is not
// a form (Config.RawBodies = RawRefuse).
const ReasonRawBody = "raw_body"

// RawField is the field name a raw body is reported under (RefusedError,
// events): it came in no form field.
const RawField = "(body)"

func validRawBodies(v string) error {
	switch v {
	case "", RawInspect, RawRefuse:
		return nil
	}
	return fmt.Errorf("upload: raw_bodies %q is neither %q nor %q", v, RawInspect, RawRefuse)
}

// InspectBody decides whether a request body that is not a form (a PUT of
// an image, a POST with Content-Type: image/png) is acceptable under
// policy, as Inspect does for a file: by content. A body declared as data
// (JSON, XML, text; see isDataType), or undeclared and either plain text
// or of no known format, is an API's data, not a file: it is allowed
// unless its content is markup a browser renders or of another format. contentType, the
// request's Content-Type, plays the part of the file name: a specific
// type must agree with the content (a PNG sent as image/gif is refused,
// type_mismatch, as an application may store the body under the declared
// type); an absent or generic type (application/octet-stream) lets the
// content decide alone. The error is for read failures only.
func InspectBody(r io.Reader, contentType string, policy Policy) (Verdict, error) {
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
	return Inspect(br, name, policy)
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
func isText(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("text/plain") {
			return true
		}
	}
	return false
}

// isMarkup reports whether m is a document a browser renders with
// scripts: HTML, XHTML or SVG.
func isMarkup(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("text/html") || m.Is("application/xhtml+xml") || m.Is("image/svg+xml") {
			return true
		}
	}
	return false
}

// isSVG reports whether m is SVG.
func isSVG(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("image/svg+xml") {
			return true
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

// isRawBody reports whether r carries a body that is neither multipart
// nor a urlencoded form: what an application reads as request.body, and
// may store as a file. A urlencoded form's fields are data, bounded by
// limits (max_form_bytes), never a file.
func isRawBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return !strings.EqualFold(strings.TrimSpace(ct), "application/x-www-form-urlencoded")
}

// serveRaw inspects a raw body as one file (or refuses it, RawRefuse),
// then hands next a request whose body is the spooled copy, with its
// length.
func (u *Uploader) serveRaw(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if u.c.RawBodies == RawRefuse {
		u.refuse(w, r, &RefusedError{Field: RawField, Verdict: Verdict{Type: r.Header.Get("Content-Type"),
			Reason: ReasonRawBody, Message: "the body is not a form"}})
		return
	}
	lim := limits.From(r)
	d := u.spool.Get()
	defer d.Close()
	var src io.Reader = limits.NewReader(r.Body, lim.MaxBodyBytes)
	if lim.MaxFileBytes >= 0 {
		src = io.LimitReader(src, lim.MaxFileBytes+1)
	}
	_, err := d.ReadFrom(src)
	if err == nil && lim.MaxFileBytes >= 0 && d.Len() > lim.MaxFileBytes {
		err = &limits.Error{Kind: limits.ErrFileTooLarge, Limit: limits.KeyFileBytes, Value: lim.MaxFileBytes}
	}
	if err == nil {
		err = d.Finish()
	}
	var v Verdict
	if err == nil {
		v, err = InspectBody(d, r.Header.Get("Content-Type"), u.c.Policy)
	}
	if err == nil && !v.Allowed {
		err = &RefusedError{Field: RawField, Verdict: v}
	}
	if err == nil {
		err = d.Rewind()
	}
	if err != nil {
		u.refuse(w, r, err)
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Body, r2.ContentLength, r2.TransferEncoding, r2.Trailer = d, d.Len(), nil, nil
	r2.Header = r.Header.Clone()
	r2.Header.Del("Transfer-Encoding")
	r2.Header.Set("Content-Length", strconv.FormatInt(d.Len(), 10))
	next.ServeHTTP(w, r2)
}
