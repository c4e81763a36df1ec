package limits_test

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/limitsrefusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/limits"
)

func TestHandlerBody(t *testing.T) {
	type row struct {
		name     string
		body     io.Reader
		declared int64 // -1: absent
		want     int   // status written by the handler
		readErr  error
	}
	big := strings.Repeat("x", 101)
	rows := []row{
		{"exact cap", strings.NewReader(big[:100]), 100, 200, nil},
		{"declared over cap", strings.NewReader(big), 101, 413, nil},
		{"attack: no content-length, over cap", strings.NewReader(big), -1, 413, limits.ErrBodyTooLarge},
		{"attack: understated length", strings.NewReader(big), 10, 413, limits.ErrBodyTooLarge},
		{"attack: slow body", iotestSlow(big), -1, 413, limits.ErrBodyTooLarge},
		{"small", strings.NewReader("abc"), 3, 200, nil},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			lg := slog.New(slog.NewJSONHandler(&logs, nil))
			l, err := limits.New(limits.Config{Values: limits.Values{MaxBodyBytes: 100}, Logger: lg})
			if err != nil {
				t.Fatal(err)
			}
			var gotErr error
			h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, gotErr = io.ReadAll(r.Body)
				if gotErr != nil {
					limits.WriteError(w, r, gotErr)
					return
				}
			}))
			r := httptest.NewRequest("POST", "/", tc.body)
			r.ContentLength = tc.declared
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d", w.Code, tc.want)
			}
			if !errors.Is(gotErr, tc.readErr) || (tc.readErr == nil) != (gotErr == nil) {
				t.Fatalf("read error %v, want %v", gotErr, tc.readErr)
			}
			if tc.want == 413 {
				if n := strings.Count(logs.String(), `"event":"request_too_large"`); n != 1 {
					t.Fatalf("%d request_too_large events, want 1: %s", n, logs.String())
				}
				if !strings.Contains(logs.String(), `"reason":"max_body_bytes"`) || !strings.Contains(logs.String(), `"limit":100`) {
					t.Fatalf("event does not name the limit: %s", logs.String())
				}
			}
		})
	}
}

// slowReader trickles one byte per Read.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

func iotestSlow(s string) io.Reader { return slowReader{strings.NewReader(s)} }

func TestQueryFields(t *testing.T) {
	l, err := limits.New(limits.Config{Values: limits.Values{MaxFields: 3}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"a=1&b=2&c=3", 200},
		{"a=1&b=2&c=3&d=4", 400},
		{"a=1&&&", 400},          // empty fields count, as in Django
		{"a=1;b=2;c=3;d=4", 200}, // ';' is not a separator
		{"", 200},
	} {
		h := l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/?"+tc.q, nil))
		if w.Code != tc.want {
			t.Errorf("%q: status %d, want %d", tc.q, w.Code, tc.want)
		}
		if w.Code != 200 && w.Body.String() != http.StatusText(w.Code)+"\n" {
			t.Errorf("body %q is not the status text", w.Body.String())
		}
	}
}

func TestRoutes(t *testing.T) {
	l, err := limits.New(limits.Config{
		Values: limits.Values{MaxBodyBytes: 10},
		Routes: []limits.Route{
			{Pattern: "/upload/", Values: limits.Values{MaxBodyBytes: 1000}},
			{Pattern: "/upload/avatar", Values: limits.Values{MaxBodyBytes: 50}},
			{Pattern: "POST /upload/", Values: limits.Values{MaxBodyBytes: 2000}},
			{Pattern: "/upload/big/", Values: limits.Values{MaxBodyBytes: limits.Unlimited, MaxFiles: 1}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		want         int64
	}{
		{"GET", "/", 10},
		{"GET", "/upload", 1000}, // the subtree root without its slash
		{"GET", "/upload/x", 1000},
		{"POST", "/upload/x", 2000},
		{"POST", "/upload/avatar", 50},
		{"POST", "/upload/avatar/x", 2000},
		{"POST", "/upload/big/a", limits.Unlimited},
		{"POST", "/uploadx", 10},
		// attack: dot segments and duplicate slashes resolve before matching
		{"POST", "/x/../upload/avatar", 50},
		{"POST", "//upload//avatar", 50},
		{"POST", "/upload/big/../avatar", 50},
	} {
		r := httptest.NewRequest(tc.method, "/", nil)
		r.URL.Path = tc.path
		got := l.For(r)
		if got.MaxBodyBytes != tc.want {
			t.Errorf("%s %s: MaxBodyBytes %d, want %d", tc.method, tc.path, got.MaxBodyBytes, tc.want)
		}
	}
	if got := l.For(httptest.NewRequest("POST", "/upload/big/a", nil)); got.MaxFiles != 1 || got.MaxFields != limits.DefaultMaxFields {
		t.Errorf("route inheritance: %+v", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []limits.Config{
		{Values: limits.Values{MaxBodyBytes: -2}},
		{Values: limits.Values{FileMemoryThreshold: -1}},
		{Routes: []limits.Route{{Pattern: "upload/"}}},
		{Routes: []limits.Route{{Pattern: "/a/../b"}}},
		{Routes: []limits.Route{{Pattern: "/a"}, {Pattern: "/a"}}},
		{Routes: []limits.Route{{Pattern: "post /a"}}},
	} {
		if err := c.Validate(); !errors.Is(err, limits.ErrConfig) {
			t.Errorf("%+v: Validate() = %v, want ErrConfig", c, err)
		}
	}
	if err := (limits.Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

func TestHandlerAllocs(t *testing.T) {
	l, _ := limits.New(limits.Config{Logger: slog.New(slog.DiscardHandler)})
	h := l.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("POST", "/a?x=1&y=2", strings.NewReader("abc"))
	w := httptest.NewRecorder()
	// Request copy, context value and the body wrapper.
	if n := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, r) }); n > 3 {
		t.Errorf("%v allocations per request, want <= 3", n)
	}
	// Behind the top of the chain the limits live in the request's
	// record: a GET costs nothing, a request with a body only its copy
	// and the wrapper. (Each run starts from an empty record, as each
	// request does.)
	get, _ := reqstate.Attach(httptest.NewRequest("GET", "/a", nil))
	if n := testing.AllocsPerRun(100, func() {
		reqstatetest.Reset(get)
		h.ServeHTTP(w, get)
	}); n > 0 {
		t.Errorf("GET with a record: %v allocations per request, want 0", n)
	}
	post, _ := reqstate.Attach(r)
	if n := testing.AllocsPerRun(100, func() {
		reqstatetest.Reset(post)
		h.ServeHTTP(w, post)
	}); n > 2 {
		t.Errorf("POST with a record: %v allocations per request, want <= 2", n)
	}
}

func TestFromDefault(t *testing.T) {
	if got := limits.From(httptest.NewRequest("GET", "/", nil)); got != limits.Default() {
		t.Errorf("From without a Handler = %+v, want Default()", got)
	}
}

// An application answering a ParseForm error with WriteError gets the
// limit's status, the status text (never the error) and one event on the
// Limiter's logger; an overflow the body reader already logged is not
// logged twice.
func TestWriteError(t *testing.T) {
	rows := []struct {
		name, body string
		declared   int64
		want       int
		event      string
		maxForm    int64
	}{
		{"too many fields in the body", strings.Repeat("a=1&", 5) + "a=1", 23, 400, "too_many_fields", 50},
		{"attack: form over cap, undeclared", strings.Repeat("x", 80), -1, 400, "request_data_too_big", 50},
		{"attack: body over cap, undeclared", strings.Repeat("x", 200), -1, 413, "request_too_large", 500},
	}
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			lg := slog.New(slog.NewJSONHandler(&logs, nil))
			l, err := limits.New(limits.Config{Values: limits.Values{MaxFields: 5, MaxFormBytes: tc.maxForm, MaxBodyBytes: 100}, Logger: lg})
			if err != nil {
				t.Fatal(err)
			}
			h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, _, err := limits.ParseForm(r, nil); err != nil {
					limits.WriteError(w, r, err)
				}
			}))
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.ContentLength = tc.declared
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want || strings.TrimSpace(w.Body.String()) != http.StatusText(tc.want) {
				t.Fatalf("got %d %q, want %d and its status text", w.Code, w.Body.String(), tc.want)
			}
			if w.Header().Get("Connection") != "close" {
				t.Errorf("no Connection: close")
			}
			if n := strings.Count(logs.String(), `"event":"`+tc.event+`"`); n != 1 || strings.Count(logs.String(), "\n") != 1 {
				t.Fatalf("want one %s event on the Limiter's logger, got %q", tc.event, logs.String())
			}
		})
	}
}

// Upload and the gateway answer limit errors through the internal hook,
// which importing limits sets, and get the Handler's answer.
func TestRefusalHook(t *testing.T) {
	if limitsrefusal.Write == nil {
		t.Fatal("limitsrefusal.Write is not set")
	}
	var logs bytes.Buffer
	w := httptest.NewRecorder()
	err := &limits.Error{Kind: limits.ErrFileTooLarge, Limit: limits.KeyFileBytes, Value: 10}
	limitsrefusal.Write(w, httptest.NewRequest("POST", "/", nil), slog.New(slog.NewJSONHandler(&logs, nil)), err)
	if w.Code != 413 || w.Header().Get("Connection") != "close" || !strings.Contains(logs.String(), `"event":"file_too_large"`) {
		t.Fatalf("got %d %v, log %q", w.Code, w.Header(), logs.String())
	}
}
