package refusal_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"
)

func TestIsSlug(t *testing.T) {
	for s, want := range map[string]bool{
		"disallowed_host": true, "a": true, "max_body_bytes2": true,
		"": false, "Disallowed": false, "_x": false, "2x": false, "a-b": false, "a b": false,
		"CSRF cookie not set.": false, strings.Repeat("a", 65): false, strings.Repeat("a", 64): true,
	} {
		if got := refusal.IsSlug(s); got != want {
			t.Errorf("IsSlug(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"}, // never splits a UTF-8 sequence
		{"", 0, ""},
	} {
		if got := refusal.Truncate(tt.in, tt.n); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestLogShape(t *testing.T) {
	tests := []struct {
		name           string
		host, path     string
		record         bool
		reason         string
		detail         string
		wantHost       string
		wantClient     string
		wantReason     string
		wantPathPrefix string
	}{
		{name: "no record", host: "example.com", path: "/a b", reason: "too_big",
			wantHost: `"example.com"`, wantClient: "192.0.2.1", wantReason: "too_big", wantPathPrefix: "/a%20b"},
		{name: "validated host as is", host: "example.com", path: "/", record: true, reason: "x",
			wantHost: "Example.com", wantClient: "203.0.113.7", wantReason: "x", wantPathPrefix: "/"},
		{name: "attack: control bytes and flood in host", host: "evil\n\x00" + strings.Repeat("h", 1000), path: "/", reason: "x",
			wantHost: strconv.Quote("evil\n\x00" + strings.Repeat("h", 256-6) + "…"), wantClient: "192.0.2.1", wantReason: "x", wantPathPrefix: "/"},
		{name: "attack: sentence as reason", host: "example.com", path: "/", reason: "Origin checking failed - https://evil",
			wantHost: `"example.com"`, wantClient: "192.0.2.1", wantReason: refusal.InvalidReason, wantPathPrefix: "/"},
		{name: "attack: long path", host: "example.com", path: "/" + strings.Repeat("p", 5000), reason: "x",
			wantHost: `"example.com"`, wantClient: "192.0.2.1", wantReason: "x", wantPathPrefix: "/ppp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			lg := slog.New(slog.NewJSONHandler(&buf, nil))
			r := httptest.NewRequest("POST", "/", nil)
			r.URL.Path = tt.path
			r.Host = tt.host
			if tt.record {
				r = reqstatetest.With(r, reqstate.Conn{ClientIP: mustAddr("203.0.113.7"), Host: "Example.com"}, "Example.com", true)
			}
			refusal.Log(lg, r, "refused", "some_event", tt.reason, refusal.Detail("a \"quoted\"\nsentence"))
			var ev map[string]any
			if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
				t.Fatal(err)
			}
			if ev["event"] != "some_event" || ev["reason"] != tt.wantReason || ev["client_ip"] != tt.wantClient || ev["host"] != tt.wantHost || ev["method"] != "POST" {
				t.Errorf("event %v", ev)
			}
			if p, _ := ev["path"].(string); !strings.HasPrefix(p, tt.wantPathPrefix) || len(p) > refusal.MaxPath+len("…") {
				t.Errorf("path %q", p)
			}
			if ev["detail"] != strconv.Quote("a \"quoted\"\nsentence") {
				t.Errorf("detail %v", ev["detail"])
			}
			if strings.Count(buf.String(), "\n") != 1 {
				t.Errorf("not one line: %q", buf.String())
			}
		})
	}
}
