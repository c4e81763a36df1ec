package csrf_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
	"github.com/bulwarkdev/bulwark/internal/reqstate/reqstatetest"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/internal/vectors"
)

const testSecret = "lcccccccX2kcccccccY2jcccccccssIC"

// seeds collects string values of the given request keys (and header
// names) from Django's CSRF vectors.
func seeds(t testing.TB, keys ...string) []string {
	var out []string
	for _, file := range []string{"csrf_origin.json", "csrf_tokens.json"} {
		var f struct {
			Vectors  []map[string]json.RawMessage `json:"vectors"`
			Sections []struct {
				Vectors []map[string]json.RawMessage `json:"vectors"`
			} `json:"sections"`
		}
		vectors.Load(t, file, &f)
		all := f.Vectors
		for _, s := range f.Sections {
			all = append(all, s.Vectors...)
		}
		for _, v := range all {
			var req map[string]json.RawMessage
			if json.Unmarshal(v["request"], &req) != nil {
				continue
			}
			var hdr map[string]string
			_ = json.Unmarshal(req["headers"], &hdr)
			for _, k := range keys {
				var s string
				if json.Unmarshal(req[k], &s) == nil && s != "" {
					out = append(out, s)
				}
				if h, ok := hdr[k]; ok {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

func TestFuzzSeedCorpus(t *testing.T) {
	if n := len(seeds(t, "Origin")); n < 10 {
		t.Fatalf("%d Origin seeds", n)
	}
	if n := len(seeds(t, "csrf_secret", "post_token", "header_token")); n < 10 {
		t.Fatalf("%d token seeds", n)
	}
	if n := len(seeds(t, "Referer")); n < 1 {
		t.Fatalf("%d Referer seeds", n)
	}
}

func alnum(s string) bool { return csrf.CheckFormat(s) == "" }

// FuzzToken: masking round-trips; any 64-character alphanumeric input
// unmasks, without panicking, to a 32-character alphanumeric secret; and a
// submitted token is refused with the reason its format calls for, and
// accepted only when it stands for the stored secret.
func FuzzToken(f *testing.F) {
	for _, s := range seeds(f, "csrf_secret", "post_token", "header_token") {
		f.Add(s)
	}
	f.Add(strings.Repeat("9", 64))
	f.Add(strings.Repeat("é", 32))
	p := mustNew(f, csrf.Config{})
	f.Fuzz(func(t *testing.T, tok string) {
		if len(tok) == csrf.TokenLength && alnum(tok) {
			s := csrf.Unmask(tok)
			if len(s) != csrf.SecretLength || !alnum(s) {
				t.Fatalf("Unmask(%q) = %q", tok, s)
			}
			if m := csrf.Mask(s); csrf.Unmask(m) != s || len(m) != csrf.TokenLength || !alnum(m) {
				t.Fatalf("Mask(%q) = %q does not round-trip", s, m)
			}
		}
		if len(tok) >= csrf.SecretLength {
			// Map any input onto the alphabet to get an arbitrary secret.
			const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			b := make([]byte, csrf.SecretLength)
			for i := range b {
				b[i] = chars[int(tok[i])%62]
			}
			if s := string(b); csrf.Unmask(csrf.Mask(s)) != s {
				t.Fatalf("unmask(mask(%q)) != itself", s)
			}
		}

		r := httptest.NewRequest("POST", "/", nil)
		r.Header["Sec-Fetch-Site"] = []string{"same-origin"}
		r.Header["X-Csrftoken"] = []string{tok}
		r.Header["Cookie"] = []string{"csrftoken=" + testSecret}
		err := p.Check(r)
		var reason string
		if e, ok := err.(*csrf.Error); ok {
			reason = e.Reason
		}
		switch csrf.CheckFormat(tok) {
		case "length":
			if reason != "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length." {
				t.Fatalf("token %q: %v", tok, err)
			}
		case "chars":
			if reason != "CSRF token from the 'X-Csrftoken' HTTP header has invalid characters." {
				t.Fatalf("token %q: %v", tok, err)
			}
		default:
			matches := tok == testSecret || len(tok) == csrf.TokenLength && csrf.Unmask(tok) == testSecret
			if matches != (err == nil) {
				t.Fatalf("token %q: Check = %v, matches the secret: %v", tok, err, matches)
			}
			if err != nil && reason != "CSRF token from the 'X-Csrftoken' HTTP header incorrect." {
				t.Fatalf("token %q: %v", tok, err)
			}
		}
	})
}

// FuzzOrigin: a parsed origin re-serialises canonically (parsing the
// canonical form gives it back), and an Origin is accepted as our own
// (https://example.com) exactly when its canonical form is ours.
func FuzzOrigin(f *testing.F) {
	for _, s := range seeds(f, "Origin") {
		f.Add(s)
	}
	for _, s := range []string{"https://EXAMPLE.com:443", "https://example.com.", "https://[::1]:8080", "https://example.com:0443", "HTTPS://example.com", "https://xn--bcher-kva.example"} {
		f.Add(s)
	}
	p := mustNew(f, csrf.Config{InsecureSkipTokens: true})
	f.Fuzz(func(t *testing.T, origin string) {
		canon, ok := csrf.ParseOrigin(origin)
		if ok {
			again, ok2 := csrf.ParseOrigin(canon)
			if !ok2 || again != canon {
				t.Fatalf("%q -> %q -> %q, %v", origin, canon, again, ok2)
			}
			if canon != strings.ToLower(canon) || strings.HasSuffix(canon, ":443") && strings.HasPrefix(canon, "https:") || strings.HasSuffix(canon, ":80") && strings.HasPrefix(canon, "http:") {
				t.Fatalf("%q is not canonical", canon)
			}
			if !csrf.SameOrigin(origin, canon) {
				t.Fatalf("%q is not the same origin as its canonical form %q", origin, canon)
			}
		}
		r := httptest.NewRequest("POST", "/", nil)
		r.Header["Origin"] = []string{origin}
		r = reqstatetest.With(r, reqstate.Conn{Scheme: "https", Host: "example.com"}, "", false)
		accepted := p.Check(r) == nil
		if accepted != (ok && canon == "https://example.com") {
			t.Fatalf("Origin %q (canonical %q, %v): accepted = %v", origin, canon, ok, accepted)
		}
	})
}

// FuzzReferer: the Referer parser never panics, and a Referer is accepted
// for https://www.example.com only when it names exactly that host.
func FuzzReferer(f *testing.F) {
	for _, s := range seeds(f, "Referer") {
		f.Add(s)
	}
	for _, s := range []string{"https://www.example.com/", "https://www.example.com", "https://www.example.com?x#y", "https://[::1]/", "https://[v1.x]/", "\x00 https://www.example.com/", "ht\ttps://www.example.com/"} {
		f.Add(s)
	}
	p := mustNew(f, csrf.Config{})
	f.Fuzz(func(t *testing.T, ref string) {
		r := httptest.NewRequest("POST", "/", nil)
		r.Header["Referer"] = []string{ref}
		r = reqstatetest.With(r, reqstate.Conn{Scheme: "https", Host: "www.example.com", Port: "443"}, "", false)
		if csrf.CheckReferer(p, r) != "" {
			return
		}
		// Python strips leading C0 controls and spaces and removes tabs and
		// newlines before parsing.
		clean := strings.TrimLeft(ref, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
		clean = strings.NewReplacer("\t", "", "\r", "", "\n", "").Replace(clean)
		rest, ok := strings.CutPrefix(strings.ToLower(clean[:min(len(clean), 8)])+clean[min(len(clean), 8):], "https://")
		if !ok {
			t.Fatalf("accepted %q without https://", ref)
		}
		host := rest
		if i := strings.IndexAny(rest, "/?#"); i >= 0 {
			host = rest[:i]
		}
		if !strings.EqualFold(host, "www.example.com") {
			t.Fatalf("accepted Referer %q for host %q", ref, host)
		}
	})
}

// FuzzFormBody: whatever form body a client sends, the application reads
// it back byte for byte after the token layer looked for its field.
func FuzzFormBody(f *testing.F) {
	f.Add("csrfmiddlewaretoken="+testSecret+"&a=b", "application/x-www-form-urlencoded")
	f.Add("--XX\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n"+testSecret+"\r\n--XX--\r\n", "multipart/form-data; boundary=XX")
	f.Add("a=%zz&csrfmiddleware%74oken=x", "application/x-www-form-urlencoded")
	p := mustNew(f, csrf.Config{MaxFormBytes: 256})
	f.Fuzz(func(t *testing.T, body, ct string) {
		var got []byte
		app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
		})
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header["Content-Type"] = []string{ct}
		r.Header["Sec-Fetch-Site"] = []string{"same-origin"}
		r.Header["Cookie"] = []string{"csrftoken=" + testSecret}
		r.Header["X-Csrftoken"] = []string{testSecret}
		w := httptest.NewRecorder()
		p.Handler(app).ServeHTTP(w, r)
		if w.Code == http.StatusOK && string(got) != body {
			t.Fatalf("application read %q, client sent %q", got, body)
		}
	})
}
