package gateway

import "testing"

// TestIsSingleHeaderMatchesList: the switch the forwarder uses is the list
// dedupe walks.
func TestIsSingleHeaderMatchesList(t *testing.T) {
	for _, k := range singleHeaders {
		if !isSingleHeader(k) {
			t.Errorf("isSingleHeader(%q) = false", k)
		}
	}
	for _, k := range []string{"Content-Security-Policy", "Set-Cookie", "Vary", "strict-transport-security"} {
		if isSingleHeader(k) {
			t.Errorf("isSingleHeader(%q) = true", k)
		}
	}
}
