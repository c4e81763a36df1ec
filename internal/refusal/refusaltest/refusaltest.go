// Package refusaltest checks log events against the one refusal shape of
// package refusal, for the tests of the library and of the gateway.
package refusaltest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/refusal"
)

var slug = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Keys every refusal event carries.
var Keys = []string{"event", "reason", "client_ip", "host", "method", "path"}

// Events parses JSON log lines (slog.JSONHandler) and returns those whose
// "event" is event.
func Events(t testing.TB, log, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, sc.Text())
		}
		if m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

// Check reports what is wrong with ev as a refusal event: a missing key,
// an event or reason that is not a slug, a client other than client, a
// host neither validated (want validatedHost) nor quoted and bounded, an
// unbounded method or path, a detail that is not quoted and bounded.
func Check(ev map[string]any, client, validatedHost string) error {
	var problems []string
	str := map[string]string{}
	for _, k := range Keys {
		v, ok := ev[k].(string)
		if !ok {
			problems = append(problems, fmt.Sprintf("key %q missing or not a string", k))
		}
		str[k] = v
	}
	for _, k := range []string{"event", "reason"} {
		if !slug.MatchString(str[k]) {
			problems = append(problems, fmt.Sprintf("%s %q is not a slug", k, str[k]))
		}
	}
	if str["client_ip"] != client {
		problems = append(problems, fmt.Sprintf("client_ip %q, want %q", str["client_ip"], client))
	}
	if h := str["host"]; validatedHost != "" {
		if h != validatedHost {
			problems = append(problems, fmt.Sprintf("host %q, want the validated %q", h, validatedHost))
		}
	} else if err := quotedBounded(h, refusal.MaxHost); err != nil {
		problems = append(problems, "host: "+err.Error())
	}
	if m := str["method"]; len(m) > refusal.MaxMethod+len("…") {
		problems = append(problems, fmt.Sprintf("method of %d bytes", len(m)))
	}
	if p := str["path"]; len(p) > refusal.MaxPath+len("…") || strings.ContainsAny(p, " \"\x00\r\n\t") || !utf8.ValidString(p) {
		problems = append(problems, fmt.Sprintf("path %q not escaped and bounded", p))
	}
	if d, ok := ev["detail"]; ok {
		s, _ := d.(string)
		if err := quotedBounded(s, refusal.MaxDetail); err != nil {
			problems = append(problems, "detail: "+err.Error())
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func quotedBounded(s string, max int) error {
	u, err := strconv.Unquote(s)
	if err != nil || len(s) == 0 || s[0] != '"' {
		return fmt.Errorf("%q is not quoted", s)
	}
	if len(u) > max+len("…") {
		return fmt.Errorf("%d bytes, over %d", len(u), max)
	}
	return nil
}
