package hosts_test

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/hosts"
)

// TestAbsoluteURLGolden compares AbsoluteURL and RequestURL with outputs of
// Django's algorithm run on Python's own urllib (testdata/absolute_url.json,
// made by testdata/gen_absolute_url.py), over a grid of schemes, hosts,
// request paths and locations: dot segments, network-path references,
// IRIs, odd schemes, control characters.
func TestAbsoluteURLGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/absolute_url.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Cases []struct {
			Scheme, Host, Path, Query string
			Location                  *string
			Want                      any
		}
	}
	if err := json.Unmarshal(data, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("no golden cases")
	}
	v, err := hosts.New(hosts.Config{Allowed: []string{"*"}, AllowInsecureAnyHost: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range golden.Cases {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery, r.Host = c.Path, c.Query, c.Host
		if c.Scheme == "https" {
			r.TLS = &tls.ConnectionState{}
		}
		var got string
		var gerr error
		v.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			if c.Location == nil {
				got, gerr = hosts.RequestURL(r)
			} else {
				got, gerr = hosts.AbsoluteURL(r, *c.Location)
			}
		})).ServeHTTP(httptest.NewRecorder(), r)
		loc := "<nil>"
		if c.Location != nil {
			loc = *c.Location
		}
		switch want := c.Want.(type) {
		case string:
			if gerr != nil || got != want {
				t.Errorf("%s://%s path %q query %q location %q: got %q, %v; want %q", c.Scheme, c.Host, c.Path, c.Query, loc, got, gerr, want)
			}
		default:
			if gerr == nil {
				t.Errorf("%s://%s path %q location %q: got %q, want an error (%v)", c.Scheme, c.Host, c.Path, loc, got, want)
			}
		}
	}
}
