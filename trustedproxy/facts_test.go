package trustedproxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bulwarkdev/bulwark/trustedproxy"
)

func TestSlots(t *testing.T) {
	type state struct{ n int }
	st := &state{1}
	var f trustedproxy.Facts
	f.SetSlot(trustedproxy.SlotSession, st)
	if got := f.Slot(trustedproxy.SlotSession); got != st {
		t.Fatalf("Slot = %v, want what was stored", got)
	}
	if got := f.Slot(trustedproxy.SlotCSRF); got != nil {
		t.Fatalf("another slot = %v, want nil", got)
	}

	// Direct refills the facts from the connection but keeps the slots.
	r := httptest.NewRequest("GET", "http://example.com/", nil)
	trustedproxy.Direct(r, &f)
	if f.Host != "example.com" || f.Slot(trustedproxy.SlotSession) != st {
		t.Errorf("after Direct: host %q, slot %v", f.Host, f.Slot(trustedproxy.SlotSession))
	}

	// New facts (a resolver, WithFacts) inherit the slots of the facts
	// they shadow, so state kept in front stays visible behind them.
	p, err := trustedproxy.New(trustedproxy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var inResolver, inWithFacts any
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, _ := trustedproxy.FactsFrom(r)
		f.SetSlot(trustedproxy.SlotLimits, st)
		p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f2, _ := trustedproxy.FactsFrom(r)
			inResolver = f2.Slot(trustedproxy.SlotLimits)
			r = trustedproxy.WithFacts(r, &trustedproxy.Facts{})
			f3, _ := trustedproxy.FactsFrom(r)
			inWithFacts = f3.Slot(trustedproxy.SlotLimits)
		})).ServeHTTP(w, r)
	}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	if inResolver != st || inWithFacts != st {
		t.Errorf("inherited slots: resolver %v, WithFacts %v, want the state", inResolver, inWithFacts)
	}
}

// TestHeaderValue: the value slice belongs to the request and has no room
// to grow, so a handler's Add copies it rather than writing past it.
func TestHeaderValue(t *testing.T) {
	var f trustedproxy.Facts
	v := f.HeaderValue(trustedproxy.SlotHTTPSOnly, "max-age=60")
	if len(v) != 1 || cap(v) != 1 || v[0] != "max-age=60" {
		t.Fatalf("HeaderValue = %q (cap %d)", v, cap(v))
	}
	h := http.Header{"Strict-Transport-Security": v}
	h.Add("Strict-Transport-Security", "other")
	if v[0] != "max-age=60" || &h["Strict-Transport-Security"][0] == &v[0] {
		t.Error("Add wrote into the facts' backing")
	}
	if n := testing.AllocsPerRun(100, func() { f.HeaderValue(trustedproxy.SlotHTTPSOnly, "x") }); n != 0 {
		t.Errorf("HeaderValue: %v allocs, want 0", n)
	}
}
