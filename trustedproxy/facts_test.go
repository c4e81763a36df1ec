package trustedproxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// TestNestedResolvers: a second resolver behind the first records the
// facts it established in the same record; the layers in front read the
// final facts once next returns.
func TestNestedResolvers(t *testing.T) {
	outer, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := trustedproxy.New(xffConfig)
	if err != nil {
		t.Fatal(err)
	}
	r := newRequest(proxy, false, header{"X-Forwarded-For", client})
	var outerReq, innerReq *http.Request
	h := outer.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outerReq = r
		if got := trustedproxy.ClientIP(r).String(); got != "10.0.0.1" {
			t.Errorf("outer ClientIP = %s, want the peer", got)
		}
		inner.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { innerReq = r })).ServeHTTP(w, r)
	}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if innerReq != outerReq {
		t.Error("the inner resolver copied the request again")
	}
	if got := trustedproxy.FactsOf(outerReq); got.ClientIP.String() != client || !got.ViaProxy {
		t.Errorf("facts after the inner resolver = %+v", got)
	}
}

// TestFactsOfIsACopy: changing a Facts value changes nothing for the
// request: the record is written only by the Handler.
func TestFactsOfIsACopy(t *testing.T) {
	p, err := trustedproxy.New(xffConfig)
	if err != nil {
		t.Fatal(err)
	}
	r := newRequest(proxy, false, header{"X-Forwarded-For", client})
	p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := trustedproxy.FactsOf(r)
		f.Scheme, f.Host = "https", "evil.example"
		if trustedproxy.IsSecure(r) || trustedproxy.Host(r) == "evil.example" {
			t.Error("a copy of the facts wrote the record")
		}
	})).ServeHTTP(httptest.NewRecorder(), r)
}
