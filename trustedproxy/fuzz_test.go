package trustedproxy_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// forwardedSeeds are Forwarded header values, one header line per "\n":
// RFC 7239's own examples, what proxies emit, and malformed variants.
var forwardedSeeds = []string{
	`for="_gazonk"`,
	`For="[2001:db8:cafe::17]:4711"`,
	`for=192.0.2.60;proto=http;by=203.0.113.43`,
	`for=192.0.2.43, for=198.51.100.17`,
	`for=192.0.2.43, for="[2001:db8:cafe::17]", for=unknown`,
	`for=unknown, for=_hidden;by=_proxy, for=10.0.0.5`,
	`for=203.0.113.7;proto=https;host=app.example, for=10.0.0.5;proto=http`,
	"for=192.0.2.66\nfor=203.0.113.7;proto=https",
	`for="[::ffff:10.0.0.5]", for="[::ffff:203.0.113.7]:80"`,
	`for=203.0.113.7;ext="a,b;c\"d"`,
	`for=10.0.0.3, for=10.0.0.5`,
	`proto=https`,
	`for="[fe80::1%25eth0]"`,
	`for=[2001:db8::1]`,
	`for="2001:db8::1"`,
	`for=1.2.3.4;for=5.6.7.8`,
	`for=1.2.3.4,`,
	`, for=1.2.3.4`,
	`for=1.2.3.4;;proto=http`,
	`for = 1.2.3.4`,
	`for="1.2.3.4`,
	`for="\1.2.3.4"`,
	`for="203.0.113.7:65536"`,
	`for=203.0.113.7;proto=1http`,
	``,
}

// xffSeeds are X-Forwarded-For values, one header line per "\n".
var xffSeeds = []string{
	"203.0.113.7",
	"192.0.2.66, 203.0.113.7, 10.0.0.5",
	"10.0.0.3, 10.0.0.5",
	"203.0.113.7:4711, [2001:db8::7]:80, [2001:db8::8]",
	"::ffff:203.0.113.7, ::ffff:10.0.0.5",
	"garbage, 203.0.113.7",
	"203.0.113.7, garbage, 10.0.0.5",
	"203.0.113.7,,10.0.0.5",
	"fe80::1%eth0",
	"192.0.2.66\n203.0.113.7",
	"203.0.113.7\n ",
	"",
	"unknown",
	" 203.0.113.7 ,\t10.0.0.5 ",
}

// fuzzResolvers trusts 10/8 and reads Forwarded or X-Forwarded-For.
func fuzzResolver(t testing.TB, header string) *trustedproxy.Resolver {
	t.Helper()
	p, err := trustedproxy.New(trustedproxy.Config{
		Trusted: []string{"10.0.0.0/8"}, ClientHeader: header, UseForwardedHost: true,
		SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// vectorHeaderValues returns every header value in the META of
// hosts.json's vectors (Host, X-Forwarded-Host, X-Forwarded-Proto...).
func vectorHeaderValues(t testing.TB) []string {
	t.Helper()
	var v struct {
		Sections []struct {
			Vectors []struct {
				Meta    map[string]any `json:"meta"`
				Request struct {
					Meta map[string]any `json:"meta"`
				} `json:"request"`
			} `json:"vectors"`
		} `json:"sections"`
	}
	vectors.Load(t, "hosts.json", &v)
	var out []string
	for _, s := range v.Sections {
		for _, vec := range s.Vectors {
			for _, m := range []map[string]any{vec.Meta, vec.Request.Meta} {
				for k, val := range m {
					if str, ok := val.(string); ok && strings.HasPrefix(k, "HTTP_") {
						out = append(out, str)
					}
				}
			}
		}
	}
	return out
}

// allForwardedSeeds adds to forwardedSeeds an element per vector value, as
// a host= parameter (quoted when it is no token).
func allForwardedSeeds(t testing.TB) []string {
	seeds := append([]string(nil), forwardedSeeds...)
	for _, v := range vectorHeaderValues(t) {
		e := trustedproxy.ForwardedElement{For: "203.0.113.7", Host: v, Proto: "https"}
		seeds = append(seeds, e.String()+", for=10.0.0.5")
	}
	return seeds
}

// allXFFSeeds adds the vectors' header values, garbage for X-Forwarded-For.
func allXFFSeeds(t testing.TB) []string {
	seeds := append([]string(nil), xffSeeds...)
	for _, v := range vectorHeaderValues(t) {
		seeds = append(seeds, v+", 203.0.113.7", "203.0.113.7, "+v)
	}
	return seeds
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if len(vectorHeaderValues(t)) == 0 {
		t.Fatal("no header values in the vectors")
	}
	if len(allForwardedSeeds(t)) <= len(forwardedSeeds) || len(allXFFSeeds(t)) <= len(xffSeeds) {
		t.Fatal("a fuzz seed corpus lacks the vectors")
	}
}

func fuzzRequest(peer, header, value string, secure bool) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
	r.RemoteAddr = peer
	r.Header[header] = append(r.Header[header], strings.Split(value, "\n")...)
	r.Header.Set("X-Forwarded-Proto", "https")
	if secure {
		r.TLS = &tls.ConnectionState{}
	}
	return r
}

// FuzzForwarded checks the RFC 7239 parser and the Resolver reading it:
//
//   - from an untrusted peer, the header never counts: the client is the
//     peer, the scheme the transport's, the host r.Host, and no error;
//   - from a trusted peer, the Resolver accepts exactly what
//     ParseForwarded accepts (one grammar, no lenient path);
//   - an accepted chain re-serialises (ForwardedElement.String) to a chain
//     that parses to the same elements: nothing is accepted whose meaning
//     a second reader could see differently;
//   - a returned client address is valid, unmapped and zone-free, is the
//     for= address of some element, and is trusted only if every element
//     is a trusted address.
func FuzzForwarded(f *testing.F) {
	for _, s := range allForwardedSeeds(f) {
		f.Add(s, true)
	}
	p := fuzzResolver(f, "Forwarded")
	f.Fuzz(func(t *testing.T, value string, secure bool) {
		lines := strings.Split(value, "\n")

		f0, err := p.Facts(fuzzRequest("198.51.100.9:1", "Forwarded", value, secure))
		wantScheme := map[bool]string{true: "https", false: "http"}[secure]
		if err != nil || f0.ClientIP != netip.MustParseAddr("198.51.100.9") || f0.Scheme != wantScheme || f0.Host != "app.example" || f0.ViaProxy {
			t.Fatalf("untrusted peer: facts %+v, err %v", f0, err)
		}

		elems, perr := trustedproxy.ParseForwarded(lines)
		fr, rerr := p.Facts(fuzzRequest("10.0.0.1:1", "Forwarded", value, secure))
		if (perr == nil) != (rerr == nil) {
			t.Fatalf("ParseForwarded error %v but Resolver error %v", perr, rerr)
		}
		if perr != nil {
			return
		}

		ser := make([]string, len(elems))
		for i, e := range elems {
			ser[i] = e.String()
		}
		again, err := trustedproxy.ParseForwarded([]string{strings.Join(ser, ", ")})
		if err != nil || !reflect.DeepEqual(again, elems) {
			t.Fatalf("re-serialised %q parses to %+v, %v; want %+v", strings.Join(ser, ", "), again, err, elems)
		}

		c := fr.ClientIP
		if !c.IsValid() {
			return // an unknown or obfuscated client, or no for=
		}
		if c.Is4In6() || c.Zone() != "" {
			t.Fatalf("client %v is mapped or zoned", c)
		}
		found, allTrusted := false, true
		for _, e := range elems {
			a, ok := nodeAddr(e.For)
			if ok && a == c {
				found = true
			}
			if !ok || !p.IsTrusted(a) {
				allTrusted = false
			}
		}
		if !found {
			t.Fatalf("client %v is not in the chain %+v", c, elems)
		}
		if p.IsTrusted(c) && !allTrusted {
			t.Fatalf("client %v is a trusted proxy but the chain has untrusted hops: %+v", c, elems)
		}
	})
}

// nodeAddr is an independent reading of a for= node's address.
func nodeAddr(node string) (netip.Addr, bool) {
	if strings.HasPrefix(node, "[") {
		if i := strings.IndexByte(node, ']'); i > 0 {
			a, err := netip.ParseAddr(node[1:i])
			return a.Unmap(), err == nil
		}
		return netip.Addr{}, false
	}
	host, _, _ := strings.Cut(node, ":")
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// referenceXFF is a plain, allocating reading of X-Forwarded-For that the
// Resolver must agree with: all lines joined, split on commas, walked from
// the right.
func referenceXFF(p *trustedproxy.Resolver, value string) (netip.Addr, bool) {
	lines := strings.Split(value, "\n")
	if len(strings.Join(lines, "")) > trustedproxy.MaxHeaderBytes {
		return netip.Addr{}, false
	}
	elems := strings.Split(strings.Join(lines, ","), ",")
	if len(elems) > trustedproxy.MaxHops {
		return netip.Addr{}, false
	}
	var last netip.Addr
	for i := len(elems) - 1; i >= 0; i-- {
		s := strings.Trim(elems[i], " \t")
		if strings.Contains(s, "%") {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			ap, err2 := netip.ParseAddrPort(s)
			if err2 != nil {
				if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
					if a, err = netip.ParseAddr(s[1 : len(s)-1]); err != nil || !a.Is6() {
						return netip.Addr{}, false
					}
				} else {
					return netip.Addr{}, false
				}
			} else {
				a = ap.Addr()
			}
		}
		a = a.Unmap()
		if !p.IsTrusted(a) {
			return a, true
		}
		last = a
	}
	return last, true
}

// FuzzXForwardedFor checks the X-Forwarded-For walk:
//
//   - from an untrusted peer the header never counts (client = peer, no
//     error, whatever the value);
//   - from a trusted peer the result equals a plain reference walk;
//   - the client is valid, unmapped, zone-free, and never a trusted
//     address unless every hop (right of it) is trusted and it is the
//     leftmost element.
func FuzzXForwardedFor(f *testing.F) {
	for _, s := range allXFFSeeds(f) {
		f.Add(s)
	}
	p := fuzzResolver(f, "X-Forwarded-For")
	f.Fuzz(func(t *testing.T, value string) {
		f0, err := p.Facts(fuzzRequest("198.51.100.9:1", "X-Forwarded-For", value, false))
		if err != nil || f0.ClientIP != netip.MustParseAddr("198.51.100.9") || f0.Scheme != "http" {
			t.Fatalf("untrusted peer: facts %+v, err %v", f0, err)
		}
		fr, err := p.Facts(fuzzRequest("10.0.0.1:1", "X-Forwarded-For", value, false))
		want, ok := referenceXFF(p, value)
		if (err == nil) != ok || ok && fr.ClientIP != want {
			t.Fatalf("Resolver: %v, %v; reference: %v, %v", fr.ClientIP, err, want, ok)
		}
		if err != nil {
			return
		}
		c := fr.ClientIP
		if !c.IsValid() || c.Is4In6() || c.Zone() != "" {
			t.Fatalf("client %v is invalid, mapped or zoned", c)
		}
		if p.IsTrusted(c) {
			elems := strings.Split(strings.ReplaceAll(value, "\n", ","), ",")
			first, _ := referenceXFF(p, elems[0])
			if first != c {
				t.Fatalf("trusted client %v is not the leftmost hop of %q", c, value)
			}
		}
	})
}
