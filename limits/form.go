package limits

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/percent"
)

// CountFields counts the fields of a urlencoded string as Django does:
// 1 + count("&") for a non-empty string, 0 for an empty one. Empty fields
// ("a=1&&") count; ";" is not a separator.
func CountFields(s string) int {
	if s == "" {
		return 0
	}
	return 1 + strings.Count(s, "&")
}

// ParseQuery parses a urlencoded string under lim.MaxFields, as Django's
// QueryDict does: the count is checked on the raw string before parsing,
// only "&" separates fields, empty fields are skipped, a field without "="
// has an empty value, and invalid percent escapes are kept literally.
func ParseQuery(s string, lim Limits) (url.Values, error) {
	if lim.MaxFields >= 0 && CountFields(s) > lim.MaxFields {
		return nil, newError(ErrTooManyFields, KeyFields, int64(lim.MaxFields))
	}
	v := url.Values{}
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if kv == "" {
			continue
		}
		k, val, _ := strings.Cut(kv, "=")
		k, val = unquotePlus(k), unquotePlus(val)
		v[k] = append(v[k], val)
	}
	return v, nil
}

// unquotePlus is Python's unquote_plus with errors="replace": "+" is a
// space, valid %XX escapes decode, invalid ones stay, and invalid UTF-8
// becomes U+FFFD.
func unquotePlus(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	b := percent.Decode(s, true)
	if !utf8.ValidString(b) {
		return strings.ToValidUTF8(b, "\uFFFD")
	}
	return b
}

// ReadBody reads r's whole body as Django's request.body does, under
// lim.MaxFormBytes: a declared Content-Length above the limit is refused
// before reading, and the bytes actually read are counted too (a missing or
// understated Content-Length cannot bypass it). Use it for non-multipart
// bodies; multipart bodies go through package upload.
func ReadBody(r *http.Request, lim Limits) ([]byte, error) {
	if lim.MaxFormBytes >= 0 && declaredLength(r) > lim.MaxFormBytes {
		return nil, newError(ErrDataTooBig, KeyForm, lim.MaxFormBytes)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var rd io.Reader = r.Body
	if lim.MaxFormBytes >= 0 {
		rd = io.LimitReader(r.Body, lim.MaxFormBytes+1)
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, err
	}
	if lim.MaxFormBytes >= 0 && int64(len(b)) > lim.MaxFormBytes {
		return nil, newError(ErrDataTooBig, KeyForm, lim.MaxFormBytes)
	}
	return b, nil
}

// declaredLength is the Content-Length as Django reads it: a malformed or
// absent value is 0.
func declaredLength(r *http.Request) int64 {
	if r.ContentLength > 0 {
		return r.ContentLength
	}
	if v := r.Header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 0
}

// ParseForm returns the query-string fields and, for a urlencoded body,
// the body fields of r under lim (From(r) when lim is nil), as Django's
// request.GET and request.POST: byte and field caps checked before
// anything is parsed. A non-urlencoded body is not read.
func ParseForm(r *http.Request, lim *Limits) (query, form url.Values, err error) {
	l := From(r)
	if lim != nil {
		l = *lim
	}
	if query, err = ParseQuery(r.URL.RawQuery, l); err != nil {
		return nil, nil, err
	}
	form = url.Values{}
	if !isURLEncoded(r) {
		return query, form, nil
	}
	if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil {
		// Django: urlencoded bodies are always UTF-8; another declared
		// charset is a bad request (before the body is read).
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, nil, ErrBadEncoding
		}
	}
	b, err := ReadBody(r, l)
	if err != nil {
		return nil, nil, err
	}
	if !utf8.Valid(b) {
		// Django refuses a body it cannot decode in the request charset;
		// we only accept UTF-8.
		return nil, nil, ErrBadEncoding
	}
	form, err = ParseQuery(string(b), l)
	return query, form, err
}

// ErrBadEncoding: a urlencoded body that declares a charset other than
// UTF-8 or is not valid UTF-8 (Django's BadRequest, 400).
var ErrBadEncoding = errors.New("limits: form body is not valid UTF-8")
