package upload_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
)

// TestHandlerRawBody: a body that is not a form is inspected as a file
// and reaches the next handler byte for byte, with its length; refused,
// it never reaches it.
func TestHandlerRawBody(t *testing.T) {
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))
	for _, tc := range []struct {
		name    string
		raw     string
		method  string
		ct      string
		body    []byte
		chunked bool
		lim     func(*limits.Limits)
		status  int
		event   string
	}{
		{"png put", "", "PUT", "image/png", png, false, nil, 200, ""},
		{"png post chunked", "", "POST", "image/png", png, true, nil, 200, ""},
		{"png patch, no type", "inspect", "PATCH", "", png, false, nil, 200, ""},
		{"empty body passes", "", "PUT", "image/png", nil, false, nil, 200, ""},
		{"polyglot", "", "PUT", "image/png", polyglot, false, nil, 415, `"event":"upload_refused","reason":"polyglot_html"`},
		{"polyglot declared octet-stream", "", "POST", "application/octet-stream", polyglot, true, nil, 415, `"reason":"polyglot_html"`},
		{"refuse mode", "refuse", "PUT", "image/png", png, false, nil, 415, `"event":"upload_refused","reason":"raw_body"`},
		{"file cap", "", "PUT", "image/png", png, false, func(l *limits.Limits) { l.MaxFileBytes = 10 }, 413, `"event":"file_too_large"`},
		{"body cap", "", "PUT", "image/png", png, true, func(l *limits.Limits) { l.MaxBodyBytes = 10 }, 413, `"event":"request_too_large"`},
		{"json api body passes", "", "POST", "application/json", []byte(`{"name":"<b>x</b>","n":1}`), false, nil, 200, ""},
		{"problem+json passes", "", "PATCH", "application/merge-patch+json", []byte(`{"a":null}`), true, nil, 200, ""},
		{"plain text passes", "", "PUT", "text/plain; charset=utf-8", []byte("hello\n"), false, nil, 200, ""},
		{"attack: html declared as json", "", "POST", "application/json", []byte("<!DOCTYPE html><html><script>alert(1)</script>"), false, nil, 415, `"reason":"html"`},
		{"attack: svg declared as xml", "", "PUT", "application/xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), false, nil, 415, `"reason":"svg_script"`},
		{"attack: xhtml in xml", "", "PUT", "application/xml", []byte(`<?xml version="1.0"?><x><h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script></x>`), false, nil, 415, `"reason":"xml_script"`},
		{"opaque bytes pass", "", "POST", "application/octet-stream", []byte{0, 1, 2, 3, 250, 251, 252}, false, nil, 200, ""},
		{"attack: html undeclared", "", "POST", "", []byte("<html><body><script>alert(1)</script>"), false, nil, 415, `"reason":"html"`},
		{"attack: executable declared octet-stream", "", "POST", "application/octet-stream", append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...), false, nil, 415, `"reason":"executable"`},
		{"attack: polyglot declared as text", "", "PUT", "text/plain", polyglot, false, nil, 415, `"reason":"type_mismatch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			u, err := upload.New(upload.Config{TempDir: t.TempDir(), RawBodies: tc.raw, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			var gotLen int64 = -2
			reached := false
			h := u.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				got, _ = io.ReadAll(r.Body)
				gotLen = r.ContentLength
			}))
			var rd io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				rd = io.MultiReader(rd)
			}
			r := httptest.NewRequest(tc.method, "/upload/", rd)
			if tc.chunked {
				r.ContentLength = -1
			}
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			lim := limits.Default()
			if tc.lim != nil {
				tc.lim(&lim)
			}
			r = limits.With(r, lim)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; logs %s", w.Code, tc.status, logs.String())
			}
			if tc.status != 200 {
				if reached {
					t.Error("a refused body reached the next handler")
				}
				if strings.Count(logs.String(), "\n") != 1 || !strings.Contains(logs.String(), tc.event) {
					t.Errorf("want one %s event, got %s", tc.event, logs.String())
				}
				return
			}
			if !reached || !bytes.Equal(got, tc.body) {
				t.Fatalf("next handler got %d bytes, want %d", len(got), len(tc.body))
			}
			if len(tc.body) > 0 && gotLen != int64(len(tc.body)) {
				t.Errorf("Content-Length %d, want %d", gotLen, len(tc.body))
			}
		})
	}
	if _, err := upload.New(upload.Config{RawBodies: "skip"}); err == nil {
		t.Error("raw_bodies = \"skip\" accepted")
	}
}
