package hosts_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/internal/vectors"
)

// djangoHostRE is Django's host_validation_re, applied to the lower-cased
// host with fullmatch.
var djangoHostRE = regexp.MustCompile(`^(?:([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\])(?::([0-9]+))?)$`)

var schemeRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

var handHostSeeds = []string{
	"example.com", "EXAMPLE.COM:8080", "example.com.", "example.com..", "example.com:", "[::1]", "[::1]:8080",
	"[::ffff:169.254.169.254]", "[fe80::1%25eth0]", "::1", "[::1", "example.com@evil.tld", "a_b.example",
	"\u212a.example", "bücher.example", "example.com\n", "-.-", ".", ":80", "[:]", "[a:]", "[:a]",
}

// hostSeeds are every host string in hosts.json plus handHostSeeds.
func hostSeeds(t testing.TB) []string {
	t.Helper()
	var v hostsFile
	vectors.Load(t, "hosts.json", &v)
	seeds := append([]string(nil), handHostSeeds...)
	for _, s := range v.Sections {
		for _, raw := range s.Vectors {
			var vec hostVector
			if err := json.Unmarshal(raw, &vec); err != nil {
				t.Fatalf("hosts.json: %v", err)
			}
			if vec.Host != "" {
				seeds = append(seeds, vec.Host)
			}
			for _, k := range []string{"HTTP_HOST", "HTTP_X_FORWARDED_HOST", "SERVER_NAME"} {
				if h, ok := metaString(vec.Meta, k); ok {
					seeds = append(seeds, h)
				}
			}
			seeds = append(seeds, vec.Settings.AllowedHosts...)
		}
	}
	return seeds
}

// locationSeeds are the locations of the golden AbsoluteURL cases.
func locationSeeds(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("testdata/absolute_url.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []struct{ Location *string } }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range g.Cases {
		if c.Location != nil && !seen[*c.Location] {
			seen[*c.Location] = true
			out = append(out, *c.Location)
		}
	}
	return out
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if n := len(hostSeeds(t)); n <= len(handHostSeeds) {
		t.Fatalf("host seeds: %d, want the vectors' hosts too", n)
	}
	if len(locationSeeds(t)) == 0 {
		t.Fatal("no location seeds")
	}
}

// FuzzSplitDomainPort checks host normalisation and matching:
//
//   - SplitDomainPort agrees with Django's regular expression on the
//     lower-cased host (the differential oracle), and returns ("", "")
//     exactly when it does not match;
//   - the domain is lower-case ASCII and splitting it again gives itself
//     (when it has no trailing dot left: Django strips only one);
//   - a Validator allowing "*" accepts exactly the hosts with a non-empty
//     domain, and a Validator allowing the domain itself accepts the host
//     (the allow-list and SplitDomainPort agree);
//   - a refused host's error names it, and its domain when valid.
func FuzzSplitDomainPort(f *testing.F) {
	for _, s := range hostSeeds(f) {
		f.Add(s)
	}
	anyHost, err := hosts.New(hosts.Config{Allowed: []string{"*"}, AllowInsecureAnyHost: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		d, p := hosts.SplitDomainPort(host)
		wantD, wantP := "", ""
		if m := djangoHostRE.FindStringSubmatch(asciiLower(host)); m != nil {
			wantD, wantP = strings.TrimSuffix(m[1], "."), m[2]
		}
		if d != wantD || p != wantP {
			t.Fatalf("SplitDomainPort(%q) = %q, %q; Django's regex gives %q, %q", host, d, p, wantD, wantP)
		}
		if d != asciiLower(d) {
			t.Fatalf("domain %q is not lower-case", d)
		}
		if d != "" && !strings.HasSuffix(d, ".") {
			if d2, p2 := hosts.SplitDomainPort(d); d2 != d || p2 != "" {
				t.Fatalf("SplitDomainPort(%q) = %q, %q; want it unchanged", d, d2, p2)
			}
			if !hosts.IsSameDomain(d, d) || !hosts.IsSameDomain(d, "."+d) {
				t.Fatalf("IsSameDomain(%q, itself) is false", d)
			}
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Host = host
		err := anyHost.Check(r)
		if (err == nil) != (d != "") {
			t.Fatalf("Check(%q) under * = %v, domain %q", host, err, d)
		}
		var he *hosts.HostError
		if err != nil && (!asHostError(err, &he) || he.Host != host || he.Domain != d) {
			t.Fatalf("error %#v for %q", err, host)
		}
		// Entries starting with ".." are refused at New (a pattern for
		// the empty label), so only other domains make an entry.
		if d != "" && !strings.HasSuffix(d, ".") && !strings.HasPrefix(d, "..") {
			self, err := hosts.New(hosts.Config{Allowed: []string{d}})
			if err != nil {
				t.Fatalf("domain %q is not a valid entry: %v", d, err)
			}
			if err := self.Check(r); err != nil {
				t.Fatalf("Check(%q) with %q allowed: %v", host, d, err)
			}
		}
	})
}

// asciiLower lower-cases ASCII letters only. Python's lower() also maps
// some non-ASCII letters (the Kelvin sign to "k"); Bulwark refuses those
// hosts, so the oracle leaves them alone and the regex refuses them too.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func asHostError(err error, target **hosts.HostError) bool {
	he, ok := err.(*hosts.HostError)
	*target = he
	return ok
}

// FuzzAbsoluteURL checks that a location without a host of its own can
// never move the URL to another host, and that the result is always an
// ASCII URI without spaces or control characters (iri_to_uri's job).
func FuzzAbsoluteURL(f *testing.F) {
	for _, s := range locationSeeds(f) {
		f.Add(s)
	}
	v, err := hosts.New(hosts.Config{Allowed: []string{"example.com"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, location string) {
		r := httptest.NewRequest(http.MethodGet, "/a/b", nil)
		r.Host = "example.com"
		var got string
		var gerr error
		v.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got, gerr = hosts.AbsoluteURL(r, location)
		})).ServeHTTP(httptest.NewRecorder(), r)
		if gerr != nil {
			return
		}
		for i := 0; i < len(got); i++ {
			if got[i] <= ' ' || got[i] >= 0x7f {
				t.Fatalf("AbsoluteURL(%q) = %q: byte %#x not escaped", location, got, got[i])
			}
		}
		// Python's urlsplit ignores leading C0 controls and spaces and
		// every tab and newline; what remains decides scheme and host.
		clean := strings.TrimLeft(location, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
		clean = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(clean)
		hasScheme := schemeRE.MatchString(clean)
		if !hasScheme && !strings.HasPrefix(clean, "//") {
			// As in Django, leading controls or spaces before "/" stay in
			// the location and end up percent-encoded after the host
			// ("http://example.com%20/x"): an invalid authority, never
			// another host. Skip them, then the host must end.
			rest, ok := strings.CutPrefix(got, "http://example.com")
			for ok && strings.HasPrefix(rest, "%") && len(rest) >= 3 && (rest[1] == '0' || rest[1] == '1' || rest[1:3] == "20") {
				rest = rest[3:]
			}
			if !ok || rest != "" && rest[0] != '/' && rest[0] != '?' && rest[0] != '#' {
				t.Fatalf("relative location %q escaped the host: %q", location, got)
			}
		}
	})
}
