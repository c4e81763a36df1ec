package headers_test

import (
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/headers"
)

// policySeeds are directive/value pairs from Django's csp.json vectors and
// from header-injection attempts.
var policySeeds = []struct{ name, values string }{
	{"default-src", "'self'"},
	{"default-src", "'self' foo.com bar.com"},
	{"script-src", "'self' <CSP_NONCE_SENTINEL>"},
	{"block-all-mixed-content", ""},
	{"report-uri", "/csp-report/"},
	{"sandbox", "allow-scripts"},
	{"img-src", "'self' data:"},
	{"default-src", "self"},
	{"default-src", "a.example;script-src\t*"},
	{"style-src", "'unsafe-inline',x"},
	{"script-src", "'nonce-abc' 'sha256-AAA='"},
	{"frame-ancestors", "'none'\r\nX-Evil: 1"},
}

func TestPolicyFuzzSeedsNotEmpty(t *testing.T) {
	if len(policySeeds) == 0 {
		t.Fatal("no fuzz seeds")
	}
}

// FuzzPolicy checks the validator and the builder together: a policy that
// Validate accepts renders to a header value with no control or non-ASCII
// byte, exactly one "; "-separated part per directive (so no value can
// smuggle in a directive of its own), each part starting with its
// directive's name; and with a nonce, the nonce appears once per sentinel.
func FuzzPolicy(f *testing.F) {
	for _, s := range policySeeds {
		f.Add(s.name, s.values, "img-src", "'none'")
	}
	f.Fuzz(func(t *testing.T, name1, values1, name2, values2 string) {
		p := headers.Policy{
			{Name: name1, Values: strings.Split(values1, " ")},
			{Name: name2, Values: strings.Split(values2, " ")},
		}
		if values1 == "" {
			p[0].Values = nil
		}
		if values2 == "" {
			p[1].Values = nil
		}
		if p.Validate() != nil {
			return
		}
		const nonce = "AAAAAAAAAAAAAAAAAAAAAA"
		for _, n := range []string{"", nonce} {
			out := p.Build(n)
			for i := 0; i < len(out); i++ {
				if c := out[i]; c < 0x20 || c >= 0x7f {
					t.Fatalf("policy %q holds byte %#x", out, c)
				}
			}
			parts := strings.Split(out, "; ")
			kept := 0
			for _, d := range p {
				if n == "" && len(d.Values) > 0 && allSentinels(d.Values) {
					continue // dropped, as Django does
				}
				if kept >= len(parts) || parts[kept] != d.Name && !strings.HasPrefix(parts[kept], d.Name+" ") {
					t.Fatalf("policy %q: part %d does not start with %q", out, kept, d.Name)
				}
				kept++
			}
			if out != "" && kept != len(parts) || out == "" && kept != 0 {
				t.Fatalf("policy %q has %d parts for %d directives", out, len(parts), kept)
			}
			want := 0
			if n != "" {
				for _, d := range p {
					for _, v := range d.Values {
						if v == headers.NonceSentinel || v == "'"+headers.NonceSentinel+"'" {
							want++
						}
					}
				}
			}
			if got := strings.Count(out, "'nonce-"+nonce+"'"); got != want {
				t.Fatalf("policy %q: nonce %d times, want %d", out, got, want)
			}
		}
	})
}

func allSentinels(vs []string) bool {
	for _, v := range vs {
		if v != headers.NonceSentinel && v != "'"+headers.NonceSentinel+"'" {
			return false
		}
	}
	return true
}
