package refusal_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/refusal"
)

// FuzzEvent: whatever the host, path, method and detail of a request, its
// refusal event is one JSON line whose host and detail are quoted strings
// that unquote to at most their bound (plus the cut mark), whose path is
// bounded and free of spaces and control bytes, and whose reason is a
// slug.
func FuzzEvent(f *testing.F) {
	seeds := []struct{ host, path, method, detail, reason string }{
		{"example.com", "/", "GET", "", "host_not_allowed"},
		{"evil\r\n\x00.example", "/a b/\x7f", "P\nST", "Origin checking failed - https://evil.example does not match", "Some sentence."},
		{strings.Repeat("é", 300), strings.Repeat("/..", 200), strings.Repeat("M", 40), strings.Repeat("\"", 400), ""},
	}
	for _, s := range seeds {
		f.Add(s.host, s.path, s.method, s.detail, s.reason)
	}
	f.Fuzz(func(t *testing.T, host, path, method, detail, reason string) {
		var buf bytes.Buffer
		lg := slog.New(slog.NewJSONHandler(&buf, nil))
		r := httptest.NewRequest("GET", "/", nil)
		r.Host, r.Method, r.URL = host, method, &url.URL{Path: path}
		refusal.Log(lg, r, "refused", "some_event", reason, refusal.Detail(detail))
		out := buf.String()
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Fatalf("not one line: %q", out)
		}
		var ev map[string]string
		if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if !refusal.IsSlug(ev["reason"]) {
			t.Fatalf("reason %q", ev["reason"])
		}
		for k, max := range map[string]int{"host": refusal.MaxHost, "detail": refusal.MaxDetail} {
			u, err := strconv.Unquote(ev[k])
			if err != nil {
				t.Fatalf("%s %q is not quoted", k, ev[k])
			}
			if len(u) > max+len("…") {
				t.Fatalf("%s of %d bytes", k, len(u))
			}
		}
		p := ev["path"]
		if len(p) > refusal.MaxPath+len("…") || strings.ContainsFunc(p, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			t.Fatalf("path %q", p)
		}
		if len(ev["method"]) > refusal.MaxMethod+len("…") {
			t.Fatalf("method of %d bytes", len(ev["method"]))
		}
	})
}
