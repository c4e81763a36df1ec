package reqstate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/reqstate"
)

func TestAttachOnce(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if reqstate.From(r) != nil {
		t.Fatal("a fresh request has a record")
	}
	r2, rec := reqstate.Attach(r)
	if r2 == r || reqstate.From(r) != nil {
		t.Fatal("Attach modified the original request")
	}
	r3, rec3 := reqstate.Ensure(r2)
	if r3 != r2 || rec3 != rec {
		t.Fatal("a second Attach made a second record")
	}
	// The record is shared by later copies of the request.
	if reqstate.From(r2.WithContext(r2.Context())) != rec {
		t.Fatal("a copy lost the record")
	}
}

func TestNilRecordReadsEmpty(t *testing.T) {
	var rec *reqstate.Record
	if _, ok := rec.Conn(); ok {
		t.Error("nil record has conn facts")
	}
	if _, ok := rec.ValidatedHost(); ok {
		t.Error("nil record has a validated host")
	}
	if rec.Limits() != nil || rec.Session() != nil || rec.CSRF() != nil {
		t.Error("nil record has layer state")
	}
}

// TestSetConnForgetsHost: a host validated against earlier facts is not
// valid for new ones.
func TestSetConnForgetsHost(t *testing.T) {
	_, rec := reqstate.Attach(httptest.NewRequest("GET", "/", nil))
	reqstate.SetConn(rec, reqstate.Conn{Host: "a.example"})
	reqstate.SetValidatedHost(rec, "a.example")
	if h, ok := rec.ValidatedHost(); !ok || h != "a.example" {
		t.Fatalf("ValidatedHost = %q, %v", h, ok)
	}
	reqstate.SetConn(rec, reqstate.Conn{Host: "b.example"})
	if _, ok := rec.ValidatedHost(); ok {
		t.Error("validated host kept across new connection facts")
	}
}

// TestHSTS: the value slice belongs to the request and has no room to
// grow, so a handler's Add copies it rather than writing past it.
func TestHSTS(t *testing.T) {
	_, rec := reqstate.Attach(httptest.NewRequest("GET", "/", nil))
	v := reqstate.HSTS(rec, "max-age=60")
	if len(v) != 1 || cap(v) != 1 || v[0] != "max-age=60" {
		t.Fatalf("HSTS = %q (cap %d)", v, cap(v))
	}
	h := http.Header{"Strict-Transport-Security": v}
	h.Add("Strict-Transport-Security", "other")
	if v[0] != "max-age=60" || &h["Strict-Transport-Security"][0] == &v[0] {
		t.Error("Add wrote into the record's backing")
	}
	if n := testing.AllocsPerRun(100, func() { reqstate.HSTS(rec, "x") }); n != 0 {
		t.Errorf("HSTS: %v allocs, want 0", n)
	}
}

func TestAttachAllocs(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	if n := testing.AllocsPerRun(100, func() { reqstate.Attach(r) }); n > 2 {
		t.Errorf("Attach: %v allocs, want <= 2 (the node and the request copy)", n)
	}
}

func TestPeerAddr(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:80":          "192.0.2.1",
		"[::ffff:192.0.2.1]:80": "192.0.2.1",
		"[fe80::1%eth0]:80":     "fe80::1",
		"192.0.2.1":             "192.0.2.1",
		"@":                     "invalid IP",
		"":                      "invalid IP",
	} {
		if got := reqstate.PeerAddr(in).String(); got != want {
			t.Errorf("PeerAddr(%q) = %s, want %s", in, got, want)
		}
	}
}
