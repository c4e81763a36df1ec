package upload_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
)

type limitVector struct {
	Test     string                      `json:"test"`
	Settings map[string]*json.RawMessage `json:"settings"`
	Request  struct {
		Method        string          `json:"method"`
		ContentType   *string         `json:"content_type"`
		ContentLength json.RawMessage `json:"content_length"`
		QueryString   *string         `json:"query_string"`
		Body          *string         `json:"body"`
	} `json:"request"`
	Action   string          `json:"action"`
	Expected json.RawMessage `json:"expected"`
}

// djangoErrors maps Django's exception classes to our sentinels.
var djangoErrors = map[string]error{
	"RequestDataTooBig":       limits.ErrDataTooBig,
	"TooManyFieldsSent":       limits.ErrTooManyFields,
	"TooManyFilesSent":        limits.ErrTooManyFiles,
	"MultiPartParserError":    upload.ErrMalformed,
	"SuspiciousMultipartForm": upload.ErrMalformed,
	"BadRequest":              limits.ErrBadEncoding,
}

// statusOf is the HTTP status Bulwark answers err with.
func statusOf(err error) int {
	var le *limits.Error
	if errors.As(err, &le) {
		return le.Status()
	}
	return 400 // malformed bodies and undecodable forms
}

// limitsFromSettings applies Django settings to the defaults; null (None)
// disables a limit.
func limitsFromSettings(s map[string]*json.RawMessage) (limits.Limits, error) {
	l := limits.Default()
	for k, raw := range s {
		n := int64(limits.Unlimited)
		if raw != nil && string(*raw) != "null" {
			if err := json.Unmarshal(*raw, &n); err != nil {
				return l, fmt.Errorf("setting %s: %v", k, err)
			}
		}
		switch k {
		case "DATA_UPLOAD_MAX_MEMORY_SIZE":
			l.MaxFormBytes = n
		case "DATA_UPLOAD_MAX_NUMBER_FIELDS":
			l.MaxFields = int(n)
		case "DATA_UPLOAD_MAX_NUMBER_FILES":
			l.MaxFiles = int(n)
		case "FILE_UPLOAD_MAX_MEMORY_SIZE":
			l.FileMemoryThreshold = n
		default:
			return l, fmt.Errorf("unknown setting %s", k)
		}
	}
	return l, nil
}

func TestDjangoUploadLimits(t *testing.T) {
	const file = "upload_limits.json"
	var vf struct {
		Vectors []limitVector `json:"vectors"`
	}
	vectors.Load(t, file, &vf)
	dev := vectors.Deviations(t, file)
	for i, v := range vf.Vectors {
		id := strconv.Itoa(i) + "_" + v.Action
		vectors.Check(t, file, id, dev, func() error { return runLimitVector(t, v) })
	}
	vectors.Count(t, file, len(vf.Vectors))
}

func runLimitVector(t *testing.T, v limitVector) error {
	lim, err := limitsFromSettings(v.Settings)
	if err != nil {
		return err
	}
	body := ""
	if v.Request.Body != nil {
		body = *v.Request.Body
	}
	target := "/"
	if v.Request.QueryString != nil {
		target += "?" + *v.Request.QueryString
	}
	r := httptest.NewRequest(v.Request.Method, target, strings.NewReader(body))
	if v.Request.ContentType != nil {
		r.Header.Set("Content-Type", *v.Request.ContentType)
	}
	// content_length: null means absent; a number is the declared length;
	// anything else is sent verbatim (a malformed value counts as 0).
	r.ContentLength = -1
	r.Header.Del("Content-Length")
	if cl := string(v.Request.ContentLength); cl != "" && cl != "null" {
		var n int64
		if json.Unmarshal(v.Request.ContentLength, &n) == nil {
			r.ContentLength = n
			r.Header.Set("Content-Length", strconv.FormatInt(n, 10))
		} else {
			var s string
			if err := json.Unmarshal(v.Request.ContentLength, &s); err != nil {
				return err
			}
			r.Header.Set("Content-Length", s)
		}
	}
	switch v.Action {
	case "read_body":
		_, err = limits.ReadBody(r, lim)
	case "read_GET":
		_, err = limits.ParseQuery(r.URL.RawQuery, lim)
	case "parse_post":
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			var form *upload.Form
			form, err = upload.ReadRequest(r, lim, t.TempDir())
			form.RemoveAll()
		} else {
			_, _, err = limits.ParseForm(r, &lim)
		}
	default:
		return fmt.Errorf("unknown action %q", v.Action)
	}
	if string(v.Expected) == `"ok"` {
		return err
	}
	var want struct {
		Error      string `json:"error"`
		HTTPStatus int    `json:"http_status"`
	}
	if err := json.Unmarshal(v.Expected, &want); err != nil {
		return err
	}
	kind, ok := djangoErrors[want.Error]
	if !ok {
		return fmt.Errorf("unknown Django error %q", want.Error)
	}
	if !errors.Is(err, kind) {
		return fmt.Errorf("got %v, want %s", err, want.Error)
	}
	if want.HTTPStatus != 0 && statusOf(err) != want.HTTPStatus {
		return fmt.Errorf("status %d, want %d", statusOf(err), want.HTTPStatus)
	}
	return nil
}
