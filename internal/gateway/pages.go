package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
)

// PagesConfig is the [pages] section: the bodies of the gateway's own
// refusals (a disallowed host, a CSRF failure, a body too large, an
// upload refused, a rate limit, the upstream down), per status, in HTML
// for browsers and JSON for API clients, chosen by the request's Accept
// header. Responses from the upstream are never replaced.
//
// Each entry maps a status ("400", "403", "413", "415", "429", "502",
// "503") to a template file, read and checked when the configuration is
// loaded (and again on reload): a file that is missing, does not parse,
// fails to execute with sample data or, for JSON, does not produce valid
// JSON is a configuration error. HTML templates are html/template (every
// value is escaped for its context); JSON templates are text/template with
// a json function that quotes a value ({{json .Title}}).
//
// A template sees only what the gateway decided, never request input:
//
//	.Status     the status code (415)
//	.Title      its text ("Unsupported Media Type")
//	.RequestID  the request id, as in X-Request-Id and the log lines
//	.Allowed    for 415: the upload types accepted (uploads.policy.allow)
//
// A status without a template of the wanted kind takes the other kind's,
// and one with neither the built-in body: the status text as plain text.
// Every refusal carries X-Request-Id.
type PagesConfig struct {
	// HTML maps a status to an HTML template file. Empty: none.
	HTML map[string]string `toml:"html"`
	// JSON maps a status to a JSON template file. Empty: none.
	JSON map[string]string `toml:"json"`
}

// PageStatuses are the statuses [pages] can replace.
var PageStatuses = []int{400, 403, 413, 415, 429, 502, 503}

// PageData is what a refusal page template sees.
type PageData struct {
	Status    int
	Title     string
	RequestID string
	Allowed   []string
}

type page interface {
	Execute(io.Writer, any) error
}

// pages are the loaded templates of one configuration.
type pages struct {
	html, json map[int]page
	allowed    []string
}

// maxPageFile bounds a template file.
const maxPageFile = 256 << 10

func (c PagesConfig) load(allowed []string) (*pages, error) {
	if len(c.HTML) == 0 && len(c.JSON) == 0 {
		return nil, nil
	}
	p := &pages{html: map[int]page{}, json: map[int]page{}, allowed: allowed}
	for _, kind := range []struct {
		name  string
		files map[string]string
		dst   map[int]page
		parse func(name, src string) (page, error)
	}{
		{"html", c.HTML, p.html, func(name, src string) (page, error) {
			return htmltemplate.New(name).Option("missingkey=error").Parse(src)
		}},
		{"json", c.JSON, p.json, func(name, src string) (page, error) {
			return texttemplate.New(name).Option("missingkey=error").Funcs(texttemplate.FuncMap{"json": jsonValue}).Parse(src)
		}},
	} {
		keys := make([]string, 0, len(kind.files))
		for k := range kind.files {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			file := kind.files[k]
			status, err := strconv.Atoi(k)
			if err != nil || !slices.Contains(PageStatuses, status) {
				return nil, invalid("pages.%s: %q is not one of the statuses %v", kind.name, k, PageStatuses)
			}
			src, err := readPage(file)
			if err != nil {
				return nil, invalid("pages.%s.%s: %v", kind.name, k, err)
			}
			t, err := kind.parse(k, src)
			if err != nil {
				return nil, invalid("pages.%s.%s: %q: %v", kind.name, k, file, err)
			}
			var buf bytes.Buffer
			if err := t.Execute(&buf, p.data(status, "0123456789abcdef")); err != nil {
				return nil, invalid("pages.%s.%s: %q: %v", kind.name, k, file, err)
			}
			if kind.name == "json" && !json.Valid(buf.Bytes()) {
				return nil, invalid("pages.json.%s: %q does not produce valid JSON", k, file)
			}
			kind.dst[status] = t
		}
	}
	return p, nil
}

func readPage(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPageFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxPageFile {
		return "", fmt.Errorf("%q is larger than 256 KiB", file)
	}
	return string(b), nil
}

func jsonValue(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func (p *pages) data(status int, id string) PageData {
	d := PageData{Status: status, Title: http.StatusText(status), RequestID: id}
	if status == http.StatusUnsupportedMediaType {
		d.Allowed = p.allowed
	}
	return d
}

// negotiated reports whether status has pages of both kinds, chosen by
// Accept (the response then varies on it).
func (p *pages) negotiated(status int) bool {
	_, h := p.html[status]
	_, j := p.json[status]
	return h && j
}

// render returns the page for status, in the kind accept prefers, and
// its Content-Type; ok is false when no template applies or it failed.
func (p *pages) render(status int, accept string, id string) (body []byte, ctype string, ok bool) {
	if p == nil {
		return nil, "", false
	}
	h, hasHTML := p.html[status]
	j, hasJSON := p.json[status]
	var t page
	switch {
	case !hasHTML && !hasJSON:
		return nil, "", false
	case hasJSON && (!hasHTML || prefersJSON(accept)):
		t, ctype = j, "application/json"
	default:
		t, ctype = h, "text/html; charset=utf-8"
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p.data(status, id)); err != nil {
		return nil, "", false
	}
	return buf.Bytes(), ctype, true
}

// prefersJSON reports whether an Accept header ranks JSON above HTML
// (by q-value; at equal weight, HTML, what a browser wants). A missing
// Accept prefers HTML.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	qJSON, qHTML := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch {
		case mt == "application/json" || strings.HasSuffix(mt, "+json"):
			qJSON = max(qJSON, q)
		case mt == "text/html" || mt == "application/xhtml+xml":
			qHTML = max(qHTML, q)
		}
	}
	return qJSON > 0 && qJSON > qHTML
}
