package upload

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload/inspect"
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
		u.refuse(w, r, &RefusedError{Field: RawField, Verdict: inspect.Verdict{Type: r.Header.Get("Content-Type"),
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
	var v inspect.Verdict
	if err == nil {
		v, err = inspect.Body(d, r.Header.Get("Content-Type"), u.c.Policy)
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
