package reqstate

import (
	"net/http/httptest"
	"testing"
)

func TestRequestID(t *testing.T) {
	var nilRec *Record
	if id, ok := nilRec.RequestID(); ok || id != "" {
		t.Errorf("nil record: %q %v", id, ok)
	}
	r, rec := Attach(httptest.NewRequest("GET", "/", nil))
	if _, ok := rec.RequestID(); ok {
		t.Error("a new record has an id")
	}
	SetRequestID(rec, [16]byte([]byte("0123456789abcdef")))
	if id, ok := From(r).RequestID(); !ok || id != "0123456789abcdef" {
		t.Errorf("RequestID = %q %v", id, ok)
	}
	// Setting it costs nothing: the id is kept inline.
	if n := testing.AllocsPerRun(100, func() { SetRequestID(rec, [16]byte{}) }); n != 0 {
		t.Errorf("SetRequestID allocates %v times", n)
	}
}
