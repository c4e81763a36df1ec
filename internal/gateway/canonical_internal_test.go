package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

func TestCanonicalPath(t *testing.T) {
	for _, tc := range []struct {
		path, raw, opaque string
		want, reason      string
	}{
		{"/", "", "", "/", ""},
		{"/upload/avatar/", "", "", "/upload/avatar/", ""},
		{"/caf\u00e9", "/caf%C3%A9", "", "/caf\u00e9", ""},
		{"/upload/avatar", "/upload/%61vatar", "", "/upload/avatar", ""},
		{"//upload//avatar", "", "", "/upload/avatar", ""},
		{"/a///b/", "", "", "/a/b/", ""},
		{"/a/..b/c.", "", "", "/a/..b/c.", ""},
		{"/a/...", "", "", "/a/...", ""},
		{"/x/../upload/avatar", "", "", "", "dot_segment"},
		{"/upload/..", "", "", "", "dot_segment"},
		{"/./upload", "", "", "", "dot_segment"},
		{"/upload/../x", "/upload/%2e%2e/x", "", "", "dot_segment"},
		{"//..//x", "", "", "", "dot_segment"},
		{"/upload/a/b", "/upload%2Fa/b", "", "", "encoded_slash"},
		{"/upload/a/b", "/upload%2fa/b", "", "", "encoded_slash"},
		{"/upload\\a", "/upload%5Ca", "", "", "encoded_slash"},
		{"/upload\\a", "", "", "", "backslash"},
		{"/upload\x00.png", "/upload%00.png", "", "", "control_byte"},
		{"/a\nb", "/a%0Ab", "", "", "control_byte"},
		{"/a\x7fb", "/a%7Fb", "", "", "control_byte"},
		{"*", "", "", "", "not_absolute"},
		{"", "", "x:y", "", "not_absolute"},
		{"", "", "", "", "not_absolute"},
	} {
		got, reason := canonicalPath(tc.path, tc.raw, tc.opaque)
		if got != tc.want || reason != tc.reason {
			t.Errorf("canonicalPath(%q, %q) = %q, %q; want %q, %q", tc.path, tc.raw, got, reason, tc.want, tc.reason)
		}
	}
}

func TestForwardingValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    ForwardingConfig
		ok   bool
	}{
		{"zero", ForwardingConfig{}, true},
		{"strip list", ForwardingConfig{StripHeaders: []string{"Remote-User", "X_Auth_User"}}, true},
		{"allowed underscore name", ForwardingConfig{AllowUnderscoreHeaders: []string{"X_Legacy_Token"}}, true},
		{"ports", ForwardingConfig{PublicPorts: []int{443, 8443}}, true},
		{"bad strip name", ForwardingConfig{StripHeaders: []string{"a b"}}, false},
		{"underscore name without underscore", ForwardingConfig{AllowUnderscoreHeaders: []string{"X-Legacy"}}, false},
		{"attack: allow a proxy header", ForwardingConfig{AllowUnderscoreHeaders: []string{"X_Forwarded_Host"}}, false},
		{"attack: allow a client-identity header", ForwardingConfig{AllowUnderscoreHeaders: []string{"client_ip"}}, false},
		{"attack: allow SCRIPT_NAME", ForwardingConfig{AllowUnderscoreHeaders: []string{"Script_Name"}}, false},
		{"attack: allow a singleton", ForwardingConfig{AllowUnderscoreHeaders: []string{"Content_Type"}}, false},
		{"attack: allow a stripped name", ForwardingConfig{StripHeaders: []string{"Remote-User"}, AllowUnderscoreHeaders: []string{"remote_user"}}, false},
		{"port 0", ForwardingConfig{PublicPorts: []int{0}}, false},
		{"port too big", ForwardingConfig{PublicPorts: []int{65536}}, false},
	} {
		if err := tc.c.validate(); (err == nil) != tc.ok {
			t.Errorf("%s: validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestForwardingOutbound(t *testing.T) {
	fw := newForwarding(ForwardingConfig{StripHeaders: []string{"Remote-User"}, AllowUnderscoreHeaders: []string{"x_legacy"}})
	for _, trusted := range []bool{false, true} {
		h := http.Header{
			"Accept":      {"*/*"},
			"Script_name": {"/x"},
			"X_legacy":    {"1"},
			"Remote-User": {"admin"},
			"Remote_user": {"admin"},
			"Path_info":   {"/admin/"},
		}
		fw.outbound(h, trusted)
		want := []string{"Accept", "X_legacy"}
		if trusted {
			want = append(want, "Remote-User") // the proxy's statement
		}
		if len(h) != len(want) {
			t.Errorf("trusted=%v: outbound kept %v, want %v", trusted, h, want)
		}
		for _, k := range want {
			if _, ok := h[k]; !ok {
				t.Errorf("trusted=%v: %s dropped", trusted, k)
			}
		}
	}
}

func TestPortAllowed(t *testing.T) {
	fw := newForwarding(ForwardingConfig{PublicPorts: []int{443}})
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, local))
	proxied := trustedproxy.Facts{ViaProxy: true, Port: "9443"}
	none := trustedproxy.Facts{}
	for _, tc := range []struct {
		host  string
		facts trustedproxy.Facts
		want  bool
	}{
		{"site.test", none, true},
		{"site.test:8443", none, true},
		{"site.test:443", none, true},
		{"[::1]:8443", none, true},
		{"[::1]", none, true},
		{"site.test:6666", none, false},
		{"site.test:", none, false},
		{"site.test:08443", none, false},
		{"site.test:0", none, false},
		{"site.test:99999", none, false},
		{"site.test:9443", proxied, true},
		{"site.test:9443", trustedproxy.Facts{Port: "9443"}, false},
		{"site.test:6666", proxied, false},
	} {
		if got := fw.portAllowed(r, tc.host, tc.facts); got != tc.want {
			t.Errorf("portAllowed(%q, %+v) = %v, want %v", tc.host, tc.facts, got, tc.want)
		}
	}
}

// TestCanonicalizerAllocs pins that a canonical request costs the
// canonicalizer no allocation.
func TestCanonicalizerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	c := &canonicalizer{next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), fw: newForwarding(ForwardingConfig{}),
		events: slog.New(slog.DiscardHandler), logger: slog.New(slog.DiscardHandler)}
	r := httptest.NewRequest("POST", "/upload/avatar/", strings.NewReader("x"))
	r.Header = http.Header{
		"Accept": {"*/*"}, "User-Agent": {"x"}, "Cookie": {"a=b"}, "Content-Type": {"text/plain"},
		"Accept-Encoding": {"gzip"}, "Accept-Language": {"en"}, "Sec-Fetch-Site": {"same-origin"},
	}
	w := &discardWriter{h: http.Header{}}
	if n := testing.AllocsPerRun(100, func() { c.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("canonicalizer allocates %v times per canonical request", n)
	}
}
