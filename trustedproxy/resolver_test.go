package trustedproxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

const (
	proxy     = "10.0.0.1:4000"      // a trusted proxy
	stranger  = "198.51.100.9:4000"  // an untrusted peer
	client    = "203.0.113.7"        // a client behind the proxy
	proxyHop  = "10.0.0.5"           // another trusted proxy in the chain
	listenerP = 8080                 // port of the local listener
	goodHost  = "app.example"        // the Host header of most rows
	evilHost  = "evil.example"       // an attacker's host
	spoofedIP = "192.0.2.66"         // an address an attacker writes
	mappedHop = "::ffff:10.0.0.5"    // proxyHop, IPv4-mapped
	mappedCli = "::ffff:203.0.113.7" // client, IPv4-mapped
)

// xffConfig trusts 10/8 and reads X-Forwarded-For, the SSL header,
// X-Forwarded-Host and X-Forwarded-Port.
var xffConfig = trustedproxy.Config{
	Trusted:          []string{"10.0.0.0/8"},
	SSLHeader:        "X-Forwarded-Proto",
	SSLHeaderValue:   "https",
	UseForwardedHost: true,
	UseForwardedPort: true,
}

// fwdConfig is xffConfig reading RFC 7239 Forwarded, without SSL header.
var fwdConfig = trustedproxy.Config{
	Trusted:          []string{"10.0.0.0/8"},
	ClientHeader:     "Forwarded",
	UseForwardedHost: true,
}

type header = [2]string

func newRequest(peer string, secure bool, h ...header) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://"+goodHost+"/path", nil)
	r.RemoteAddr = peer
	r.Header = http.Header{}
	for _, kv := range h {
		// Direct map writes keep names exactly as given (X_Forwarded_Proto).
		r.Header[kv[0]] = append(r.Header[kv[0]], kv[1])
	}
	if secure {
		r.TLS = &tls.ConnectionState{}
	}
	ctx := context.WithValue(r.Context(), http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(10, 9, 9, 9), Port: listenerP})
	return r.WithContext(ctx)
}

func TestFacts(t *testing.T) {
	fwdWithSSL := fwdConfig
	fwdWithSSL.SSLHeader, fwdWithSSL.SSLHeaderValue = "X-Forwarded-Proto", "https"
	noChain := xffConfig
	noChain.ClientHeader = "none"
	mappedTrust := trustedproxy.Config{Trusted: []string{"::ffff:10.0.0.1"}}
	longXFF := strings.Repeat("1.2.3.4,", trustedproxy.MaxHeaderBytes/8) + client
	manyHops := strings.Repeat(proxyHop+",", trustedproxy.MaxHops) + proxyHop

	type want struct {
		client, scheme, host, port string
		via                        bool
	}
	direct := want{client: "198.51.100.9", scheme: "http", host: goodHost, port: "8080"}
	tests := []struct {
		name    string
		cfg     trustedproxy.Config
		peer    string
		tls     bool
		headers []header
		want    want
		reason  string // non-empty: the request must be refused as malformed
	}{
		// The zero Config and untrusted peers: the connection is the truth.
		{name: "zero config ignores everything", cfg: trustedproxy.Config{}, peer: proxy,
			headers: []header{{"X-Forwarded-For", client}, {"X-Forwarded-Proto", "https"}, {"X-Forwarded-Host", evilHost}},
			want:    want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080"}},
		{name: "direct client", cfg: xffConfig, peer: stranger, want: direct},
		{name: "direct client over TLS", cfg: xffConfig, peer: stranger, tls: true,
			want: want{client: "198.51.100.9", scheme: "https", host: goodHost, port: "8080"}},
		{name: "attack: spoofed X-Forwarded-For from untrusted peer", cfg: xffConfig, peer: stranger,
			headers: []header{{"X-Forwarded-For", spoofedIP}}, want: direct},
		{name: "attack: spoofed X-Forwarded-Proto from untrusted peer", cfg: xffConfig, peer: stranger,
			headers: []header{{"X-Forwarded-Proto", "https"}}, want: direct},
		{name: "attack: spoofed X-Forwarded-Proto http over TLS from untrusted peer", cfg: xffConfig, peer: stranger, tls: true,
			headers: []header{{"X-Forwarded-Proto", "http"}},
			want:    want{client: "198.51.100.9", scheme: "https", host: goodHost, port: "8080"}},
		{name: "attack: spoofed X-Forwarded-Host from untrusted peer", cfg: xffConfig, peer: stranger,
			headers: []header{{"X-Forwarded-Host", evilHost}}, want: direct},
		{name: "attack: spoofed X-Forwarded-Port from untrusted peer", cfg: xffConfig, peer: stranger,
			headers: []header{{"X-Forwarded-Port", "443"}}, want: direct},
		{name: "attack: spoofed Forwarded from untrusted peer", cfg: fwdConfig, peer: stranger,
			headers: []header{{"Forwarded", "for=" + spoofedIP + ";proto=https;host=" + evilHost}}, want: direct},
		{name: "attack: garbage from untrusted peer is ignored, not refused", cfg: xffConfig, peer: stranger,
			headers: []header{{"X-Forwarded-For", "garbage"}, {"X-Forwarded-Port", "x"}}, want: direct},
		{name: "attack: v4-mapped untrusted peer", cfg: xffConfig, peer: "[::ffff:198.51.100.9]:4000",
			headers: []header{{"X-Forwarded-For", spoofedIP}}, want: direct},

		// X-Forwarded-For from a trusted proxy.
		{name: "proxy without headers", cfg: xffConfig, peer: proxy,
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "one hop", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", client}},
			want: want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "trusted hops skipped", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client + ", " + proxyHop + ",10.0.0.6"}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "attack: client-written entries left of the client are not believed", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", spoofedIP + ", " + proxyHop + ", " + client + ", " + proxyHop}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "garbage left of the client is not read", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", "garbage, unknown, " + client}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "all hops trusted: leftmost", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", "10.0.0.3, " + proxyHop}},
			want:    want{client: "10.0.0.3", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "duplicate lines merged in order", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", spoofedIP}, {"X-Forwarded-For", client + ", " + proxyHop}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "duplicate lines: the last line is the nearest hop", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client}, {"X-Forwarded-For", proxyHop}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "address with port", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client + ":4711"}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "bracketed IPv6 with port", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", "[2001:db8::7]:4711"}},
			want:    want{client: "2001:db8::7", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "v4-mapped client is unmapped", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", mappedCli}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "v4-mapped trusted hop is recognised", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client + ", " + mappedHop}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "v4-mapped trusted peer", cfg: xffConfig, peer: "[::ffff:10.0.0.1]:4000",
			headers: []header{{"X-Forwarded-For", client}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "v4-mapped trusted entry matches the plain peer", cfg: mappedTrust, peer: proxy,
			headers: []header{{"X-Forwarded-For", client}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "client header none: chain ignored", cfg: noChain, peer: proxy,
			headers: []header{{"X-Forwarded-For", client}, {"X-Forwarded-Proto", "https"}},
			want:    want{client: "10.0.0.1", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "X-Forwarded-For config ignores Forwarded", cfg: xffConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + spoofedIP}},
			want:    want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},

		// SSL header: Django's SECURE_PROXY_SSL_HEADER semantics.
		{name: "ssl header https", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Proto", "https"}},
			want: want{client: "10.0.0.1", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "ssl header first element counts", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Proto", " https , http"}},
			want: want{client: "10.0.0.1", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "ssl header later element ignored", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Proto", "http, https"}},
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "ssl header is case-sensitive", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Proto", "HTTPS"}},
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "ssl header overrides TLS downwards", cfg: xffConfig, peer: proxy, tls: true, headers: []header{{"X-Forwarded-Proto", "http"}},
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "empty ssl header overrides TLS", cfg: xffConfig, peer: proxy, tls: true, headers: []header{{"X-Forwarded-Proto", ""}},
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "absent ssl header: transport", cfg: xffConfig, peer: proxy, tls: true,
			want: want{client: "10.0.0.1", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "duplicate ssl header lines: first line", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-Proto", "https"}, {"X-Forwarded-Proto", "http"}},
			want:    want{client: "10.0.0.1", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "attack: underscore alias X_Forwarded_Proto ignored", cfg: xffConfig, peer: proxy,
			headers: []header{{"X_Forwarded_Proto", "https"}, {"X_forwarded_proto", "https"}},
			want:    want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},

		// Forwarded host and port.
		{name: "forwarded host", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Host", "www.example"}},
			want: want{client: "10.0.0.1", scheme: "http", host: "www.example", port: "8080", via: true}},
		{name: "forwarded host is verbatim", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Host", "a.example, b.example"}},
			want: want{client: "10.0.0.1", scheme: "http", host: "a.example, b.example", port: "8080", via: true}},
		{name: "empty forwarded host wins", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Host", ""}},
			want: want{client: "10.0.0.1", scheme: "http", host: "", port: "8080", via: true}},
		{name: "duplicate forwarded host lines joined (invalid host)", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-Host", "a.example"}, {"X-Forwarded-Host", "b.example"}},
			want:    want{client: "10.0.0.1", scheme: "http", host: "a.example,b.example", port: "8080", via: true}},
		{name: "forwarded port", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Port", "443"}},
			want: want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "443", via: true}},

		// RFC 7239 Forwarded.
		{name: "forwarded element", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + client + ";proto=https;host=www.example"}},
			want:    want{client: client, scheme: "https", host: "www.example", port: "8080", via: true}},
		{name: "forwarded quoted IPv6 with port", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", `for="[2001:db8:cafe::17]:4711"`}},
			want:    want{client: "2001:db8:cafe::17", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded quoted IPv4 with port", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", `for="203.0.113.7:80"`}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded names are case-insensitive", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "For=" + client + ";PROTO=https"}},
			want:    want{client: client, scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "forwarded chain with trusted hops and whitespace", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + client + "; proto=https , for=" + proxyHop + ";proto=http"}},
			want:    want{client: client, scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "attack: forwarded proto and host of a spoofed element ignored", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + spoofedIP + ";proto=https;host=" + evilHost + ", for=" + client + ";proto=http"}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded duplicate lines merged", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + spoofedIP}, {"Forwarded", "for=" + client}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded obfuscated client: no address", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=_hidden, for=" + proxyHop}},
			want:    want{client: "invalid IP", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded unknown client: no address", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", `for=unknown;by="_proxy:_8080"`}},
			want:    want{client: "invalid IP", scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded element without for: untrusted, no address", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "proto=https"}},
			want:    want{client: "invalid IP", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "forwarded all trusted: leftmost", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=10.0.0.3;proto=https, for=" + proxyHop}},
			want:    want{client: "10.0.0.3", scheme: "https", host: goodHost, port: "8080", via: true}},
		{name: "forwarded v4-mapped client unmapped", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", `for="[::ffff:203.0.113.7]"`}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "forwarded extension parameter accepted", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + client + ";secret=\"a,b;c\""}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "ssl header wins over forwarded proto", cfg: fwdWithSSL, peer: proxy,
			headers: []header{{"Forwarded", "for=" + client + ";proto=https"}, {"X-Forwarded-Proto", "http"}},
			want:    want{client: client, scheme: "http", host: goodHost, port: "8080", via: true}},
		{name: "Forwarded config ignores X-Forwarded-For and X-Forwarded-Host", cfg: fwdConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", spoofedIP}, {"X-Forwarded-Host", evilHost}},
			want:    want{client: "10.0.0.1", scheme: "http", host: goodHost, port: "8080", via: true}},

		// Malformed headers from a trusted proxy fail closed.
		{name: "attack: garbage hop", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", "garbage"}}, reason: "invalid_address"},
		{name: "attack: garbage between proxies", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client + ", evil, " + proxyHop}}, reason: "invalid_address"},
		{name: "attack: empty header", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", ""}}, reason: "empty_element"},
		{name: "attack: empty element", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client + ",," + proxyHop}}, reason: "empty_element"},
		{name: "attack: empty last line", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", client}, {"X-Forwarded-For", " "}}, reason: "empty_element"},
		{name: "attack: zone", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", "fe80::1%eth0"}}, reason: "zone"},
		{name: "attack: oversized chain", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", longXFF}}, reason: "too_long"},
		{name: "attack: too many hops", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-For", manyHops}}, reason: "too_many_hops"},
		{name: "attack: too many hops over lines", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-For", manyHops[:len(manyHops)/2]}, {"X-Forwarded-For", manyHops[len(manyHops)/2+1:]}, {"X-Forwarded-For", proxyHop}}, reason: "too_many_hops"},
		{name: "attack: oversized ssl header", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-Proto", "https," + strings.Repeat("x", trustedproxy.MaxHeaderBytes)}}, reason: "too_long"},
		{name: "attack: bad port", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Port", "443x"}}, reason: "invalid_port"},
		{name: "attack: port zero", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Port", "0"}}, reason: "invalid_port"},
		{name: "attack: port out of range", cfg: xffConfig, peer: proxy, headers: []header{{"X-Forwarded-Port", "65536"}}, reason: "invalid_port"},
		{name: "attack: two ports", cfg: xffConfig, peer: proxy,
			headers: []header{{"X-Forwarded-Port", "443"}, {"X-Forwarded-Port", "80"}}, reason: "invalid_port"},
		{name: "attack: forwarded unquoted IPv6", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=[2001:db8::1]"}}, reason: "syntax"},
		{name: "attack: forwarded bare IPv6 quoted", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", `for="2001:db8::1"`}}, reason: "invalid_node"},
		{name: "attack: forwarded unterminated quote", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", `for="203.0.113.7`}}, reason: "syntax"},
		{name: "attack: forwarded empty value", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for="}}, reason: "syntax"},
		{name: "attack: forwarded spaces around =", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for = " + client}}, reason: "syntax"},
		{name: "attack: forwarded empty pair", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=" + client + ";;proto=http"}}, reason: "syntax"},
		{name: "attack: forwarded trailing comma", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=" + client + ","}}, reason: "empty_element"},
		{name: "attack: forwarded leading comma", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", ", for=" + client}}, reason: "empty_element"},
		{name: "attack: forwarded empty header", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", ""}}, reason: "empty_element"},
		{name: "attack: forwarded duplicate for", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + spoofedIP + ";for=" + client}}, reason: "duplicate_parameter"},
		{name: "attack: forwarded duplicate proto, mixed case", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=" + client + ";proto=http;Proto=https"}}, reason: "duplicate_parameter"},
		{name: "attack: forwarded zone", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", `for="[fe80::1%25eth0]"`}}, reason: "zone"},
		{name: "attack: forwarded hostname node", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=evil.example"}}, reason: "invalid_node"},
		{name: "attack: forwarded bad port", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", `for="203.0.113.7:99999"`}}, reason: "invalid_node"},
		{name: "attack: forwarded bad proto", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=" + client + ";proto=1https"}}, reason: "invalid_proto"},
		{name: "attack: forwarded non-ASCII in quotes", cfg: fwdConfig, peer: proxy, headers: []header{{"Forwarded", "for=" + client + ";host=\"\xc3\xa9\""}}, reason: "syntax"},
		{name: "attack: forwarded garbage left of the client", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", "for=garbage, for=" + client}}, reason: "invalid_node"},
		{name: "attack: forwarded too many hops", cfg: fwdConfig, peer: proxy,
			headers: []header{{"Forwarded", strings.Repeat("for="+proxyHop+",", trustedproxy.MaxHops) + "for=" + proxyHop}}, reason: "too_many_hops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := trustedproxy.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := newRequest(tt.peer, tt.tls, tt.headers...)
			before := r.Clone(r.Context())
			f, err := p.Facts(r)
			checkErr := p.Check(r)
			if tt.reason != "" {
				var me *trustedproxy.MalformedError
				if !errors.As(err, &me) || !errors.Is(err, trustedproxy.ErrMalformed) || me.Reason != tt.reason {
					t.Fatalf("Facts error = %v, want reason %q", err, tt.reason)
				}
				if !errors.Is(checkErr, trustedproxy.ErrMalformed) {
					t.Errorf("Check = %v, want ErrMalformed", checkErr)
				}
				return
			}
			if err != nil || checkErr != nil {
				t.Fatalf("Facts error = %v, Check = %v", err, checkErr)
			}
			got := want{client: f.ClientIP.String(), scheme: f.Scheme, host: f.Host, port: f.Port, via: f.ViaProxy}
			if got != tt.want {
				t.Errorf("facts = %+v\n want %+v", got, tt.want)
			}
			if f.ClientIP.IsValid() && (f.ClientIP.Is4In6() || f.ClientIP.Zone() != "") {
				t.Errorf("client %v is mapped or zoned", f.ClientIP)
			}
			if wantPeer := peerOf(tt.peer); f.Peer != wantPeer {
				t.Errorf("peer = %v, want %v", f.Peer, wantPeer)
			}
			if r.RemoteAddr != before.RemoteAddr || r.Host != before.Host || !equalHeaders(r.Header, before.Header) {
				t.Error("the request was modified")
			}
		})
	}
}

func peerOf(remote string) netip.Addr {
	return netip.MustParseAddrPort(remote).Addr().Unmap()
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w := b[k]
		if len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  trustedproxy.Config
		want string // a substring of the error
	}{
		{"bad CIDR", trustedproxy.Config{Trusted: []string{"10.0.0.0/33"}}, `"10.0.0.0/33"`},
		{"bad address", trustedproxy.Config{Trusted: []string{"10.0.0.256"}}, `"10.0.0.256"`},
		{"hostname", trustedproxy.Config{Trusted: []string{"proxy.internal"}}, `"proxy.internal"`},
		{"unknown set", trustedproxy.Config{Trusted: []string{"internal"}}, `"internal"`},
		{"zone", trustedproxy.Config{Trusted: []string{"fe80::1%eth0"}}, `"fe80::1%eth0"`},
		{"empty entry", trustedproxy.Config{Trusted: []string{""}}, `""`},
		{"unknown client header", trustedproxy.Config{Trusted: []string{"loopback"}, ClientHeader: "X-Real-IP"}, `"X-Real-IP"`},
		{"ssl header without value", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "X-Forwarded-Proto"}, "ssl_header_value"},
		{"ssl value without header", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeaderValue: "https"}, "ssl_header is empty"},
		{"ssl header META key", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "HTTP_X_FORWARDED_PROTO", SSLHeaderValue: "https"}, `"X-Forwarded-Proto"`},
		{"ssl header with underscore", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "X_Forwarded_Proto", SSLHeaderValue: "https"}, `"X_Forwarded_Proto"`},
		{"ssl header invalid", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "X Proto", SSLHeaderValue: "https"}, `"X Proto"`},
		{"ssl value with comma", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https,http"}, `"https,http"`},
		{"ssl value with spaces", trustedproxy.Config{Trusted: []string{"loopback"}, SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: " https"}, `" https"`},
		{"ssl header without trusted", trustedproxy.Config{SSLHeader: "X-Forwarded-Proto", SSLHeaderValue: "https"}, "trusted is empty"},
		{"forwarded host without trusted", trustedproxy.Config{UseForwardedHost: true}, "trusted is empty"},
		{"forwarded port without trusted", trustedproxy.Config{UseForwardedPort: true}, "trusted is empty"},
		{"client header without trusted", trustedproxy.Config{ClientHeader: "Forwarded"}, "trusted is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := trustedproxy.New(tt.cfg)
			if p != nil || err == nil || !errors.Is(err, trustedproxy.ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, %v; want an ErrConfig naming %s", p, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "trustedproxy: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if verr := tt.cfg.Validate(); verr == nil || verr.Error() != err.Error() {
				t.Errorf("Validate = %v, want %v", verr, err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	for _, c := range []trustedproxy.Config{
		{},
		{ClientHeader: "none"},
		{Trusted: []string{"loopback"}, ClientHeader: "x-forwarded-for"},
		{Trusted: []string{"10.0.0.1/8"}, ClientHeader: "FORWARDED"}, // host bits are masked
		{Trusted: []string{"private", "private", "10.0.0.0/8"}, SSLHeader: "x-forwarded-ssl", SSLHeaderValue: "on"},
	} {
		if _, err := trustedproxy.New(c); err != nil {
			t.Errorf("New(%+v) = %v", c, err)
		}
	}
}

func TestTrustedSets(t *testing.T) {
	p, err := trustedproxy.New(trustedproxy.Config{Trusted: []string{"loopback", "PRIVATE", "linklocal", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.0/120"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true}, {"fd00::1", true},
		{"169.254.169.254", true}, {"fe80::1", true},
		{"192.0.2.7", true}, {"192.0.2.8", false},
		{"2001:db8::99", true}, {"2001:db9::1", false},
		{"198.51.100.77", true}, {"::ffff:198.51.100.77", true}, {"198.51.101.1", false},
		{"::ffff:10.0.0.1", true}, // mapped addresses are unmapped first
		{"172.32.0.1", false}, {"8.8.8.8", false}, {"::2", false},
		{"fe80::1%eth0", false}, // zoned addresses are never trusted
	} {
		if got := p.IsTrusted(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("IsTrusted(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if p.IsTrusted(netip.Addr{}) {
		t.Error("the zero Addr is trusted")
	}
}

// logEvents decodes JSON log lines.
func logEvents(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, ev)
	}
	return out
}

func TestHandlerRefusesMalformed(t *testing.T) {
	var buf bytes.Buffer
	cfg := xffConfig
	cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	p, err := trustedproxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	called := false
	h := p.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	r := newRequest(proxy, false, header{"X-Forwarded-For", "1.2.3.4, \"<script>\n"})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if called {
		t.Fatal("next was called")
	}
	if w.Code != http.StatusBadRequest || strings.TrimSpace(w.Body.String()) != http.StatusText(http.StatusBadRequest) {
		t.Fatalf("response %d %q, want 400 with the status text", w.Code, w.Body.String())
	}
	evs := logEvents(t, &buf)
	if len(evs) != 1 {
		t.Fatalf("events = %v, want one", evs)
	}
	ev := evs[0]
	for k, want := range map[string]string{"event": "forwarded_malformed", "reason": "invalid_address", "client_ip": "10.0.0.1",
		"header": "X-Forwarded-For", "method": "GET", "path": "/path", "host": `"app.example"`, "level": "INFO"} {
		if ev[k] != want {
			t.Errorf("event[%s] = %v, want %q", k, ev[k], want)
		}
	}
}

func TestHandlerAttachesFacts(t *testing.T) {
	p, err := trustedproxy.New(xffConfig)
	if err != nil {
		t.Fatal(err)
	}
	r := newRequest(proxy, false, header{"X-Forwarded-For", client}, header{"X-Forwarded-Proto", "https"})
	var inner *http.Request
	p.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { inner = r })).ServeHTTP(httptest.NewRecorder(), r)
	if inner == nil || inner == r {
		t.Fatal("next did not get a copy of the request")
	}
	if trustedproxy.ClientIP(r).String() == client {
		t.Error("the original request got facts")
	}
	if got := trustedproxy.ClientIP(inner).String(); got != client {
		t.Errorf("ClientIP = %s", got)
	}
	if !trustedproxy.IsSecure(inner) || trustedproxy.Scheme(inner) != "https" {
		t.Error("scheme not https")
	}
	if inner.RemoteAddr != proxy {
		t.Errorf("RemoteAddr rewritten to %q", inner.RemoteAddr)
	}
	// The context still passes other values and cancellation through.
	type key struct{}
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	r = r.WithContext(ctx)
	p.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { inner = r })).ServeHTTP(httptest.NewRecorder(), r)
	cancel()
	if inner.Context().Value(key{}) != "v" {
		t.Error("context value lost")
	}
	select {
	case <-inner.Context().Done():
	default:
		t.Error("cancellation did not propagate")
	}
}

// TestWarnsOnce checks the warnings about a misconfigured deployment: each
// is logged once, not per request, and never for a request that shows no
// sign of the misconfiguration.
func TestWarnsOnce(t *testing.T) {
	tests := []struct {
		name  string
		quiet func() *http.Request // logs nothing
		noisy func() *http.Request // logs the warning, once
		event string
	}{
		{
			name:  "untrusted peer with forwarded headers",
			quiet: func() *http.Request { return newRequest(stranger, false) },
			noisy: func() *http.Request { return newRequest(stranger, false, header{"X-Forwarded-Proto", "https"}) },
			event: "forwarded_untrusted_peer",
		},
		{
			name:  "trusted proxy without its SSL header",
			quiet: func() *http.Request { return newRequest(proxy, false, header{"X-Forwarded-Proto", "https"}) },
			noisy: func() *http.Request { return newRequest(proxy, true) },
			event: "forwarded_header_missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			cfg := xffConfig
			cfg.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
			p, err := trustedproxy.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			h := p.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			h.ServeHTTP(httptest.NewRecorder(), tt.quiet())
			if buf.Len() != 0 {
				t.Fatalf("logged for a request without the misconfiguration: %s", buf.String())
			}
			for range 3 {
				h.ServeHTTP(httptest.NewRecorder(), tt.noisy())
			}
			evs := logEvents(t, &buf)
			if len(evs) != 1 || evs[0]["event"] != tt.event || evs[0]["level"] != "WARN" || evs[0]["header"] != "X-Forwarded-Proto" {
				t.Fatalf("events = %v, want one %s warning", evs, tt.event)
			}
		})
	}
}

func TestFactsOfConnection(t *testing.T) {
	r := newRequest("[fe80::1%eth0]:80", true)
	r.Host = "Example.COM:8443"
	f := trustedproxy.FactsOf(r)
	if f.Peer != netip.MustParseAddr("fe80::1") || f.ClientIP != f.Peer || f.Scheme != "https" || f.Host != "Example.COM:8443" || f.Port != "8080" || f.ViaProxy {
		t.Errorf("facts = %+v", f)
	}
	// Accessors fall back to the connection without facts.
	if trustedproxy.Scheme(r) != "https" || trustedproxy.Host(r) != "Example.COM:8443" || trustedproxy.Port(r) != "8080" || trustedproxy.ClientIP(r) != f.Peer {
		t.Error("fallback accessors disagree with FactsOf")
	}
	// A non-IP RemoteAddr has no client address.
	r = httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "@"
	if trustedproxy.ClientIP(r).IsValid() {
		t.Error("ClientIP of a Unix socket peer is valid")
	}
}
