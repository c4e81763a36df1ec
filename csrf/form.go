package csrf

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// formToken returns the csrfmiddlewaretoken field of a POST form, and the
// request to hand on. Django reads request.POST, which only POST requests
// with a form content type have (d.8).
//
// A form already parsed by an earlier layer (r.PostForm, r.MultipartForm)
// is used as it is. Otherwise, when readBody is set, the body is read up to
// MaxFormBytes into memory and the returned request carries a body that
// replays those bytes followed by the rest, so the application reads the
// body exactly as the client sent it; the incoming request is not
// modified. A body larger than the limit, a read error (a client that went
// away) or a malformed form give "" (Django treats an unreadable body as an
// empty field), and the header token is consulted instead.
func (p *Protection) formToken(r *http.Request, readBody bool) (string, *http.Request) {
	if r.Method != http.MethodPost {
		return "", r
	}
	if r.PostForm != nil {
		if v := r.PostForm[FormField]; len(v) > 0 {
			return v[len(v)-1], r
		}
	}
	if r.MultipartForm != nil {
		if v := r.MultipartForm.Value[FormField]; len(v) > 0 {
			return v[len(v)-1], r
		}
	}
	if !readBody || r.Body == nil || r.Body == http.NoBody || r.PostForm != nil || r.MultipartForm != nil {
		return "", r
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	switch {
	case strings.EqualFold(mt, "application/x-www-form-urlencoded"):
		var buf bytes.Buffer
		_, err := io.Copy(&buf, io.LimitReader(r.Body, p.maxFormBytes+1))
		r2 := replayBody(r, buf.Bytes())
		if err != nil || int64(buf.Len()) > p.maxFormBytes {
			return "", r2
		}
		return urlencodedField(buf.Bytes(), FormField), r2
	case strings.EqualFold(mt, "multipart/form-data"):
		_, params, err := mime.ParseMediaType(ct)
		if err != nil || params["boundary"] == "" {
			return "", r
		}
		var buf bytes.Buffer
		mr := multipart.NewReader(io.TeeReader(io.LimitReader(r.Body, p.maxFormBytes), &buf), params["boundary"])
		tok := multipartField(mr, FormField)
		return tok, replayBody(r, buf.Bytes())
	}
	return "", r
}

// replayBody returns a shallow copy of r whose body yields prefix, then
// what remains of r.Body; closing it closes r.Body.
func replayBody(r *http.Request, prefix []byte) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	r2.Body = &replay{Reader: io.MultiReader(bytes.NewReader(prefix), r.Body), c: r.Body}
	return r2
}

type replay struct {
	io.Reader
	c io.Closer
}

func (b *replay) Close() error { return b.c.Close() }

// urlencodedField returns the last value of name in an
// application/x-www-form-urlencoded body, as Django's QueryDict.get does.
// Pairs are separated by '&' only; a value that does not unescape is taken
// verbatim, as Python's unquote does (it then fails the format check).
func urlencodedField(body []byte, name string) string {
	val := ""
	for len(body) > 0 {
		var pair []byte
		if i := bytes.IndexByte(body, '&'); i >= 0 {
			pair, body = body[:i], body[i+1:]
		} else {
			pair, body = body, nil
		}
		k, v, _ := bytes.Cut(pair, []byte("="))
		key, err := url.QueryUnescape(string(k))
		if err != nil || key != name {
			continue
		}
		if u, err := url.QueryUnescape(string(v)); err == nil {
			val = u
		} else {
			val = string(v)
		}
	}
	return val
}

// multipartField returns the first non-file part called name, reading the
// stream only as far as that part.
func multipartField(mr *multipart.Reader, name string) string {
	for {
		part, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if part.FormName() == name && part.FileName() == "" {
			// A token is 64 bytes; read a little more so that an oversized
			// value is still seen as one (and fails the length check).
			v, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil && !errors.Is(err, io.EOF) {
				return ""
			}
			return string(v)
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			return ""
		}
	}
}
