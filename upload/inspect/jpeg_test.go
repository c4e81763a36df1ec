package inspect_test

import (
	"bytes"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// TestJPEGAfterEOI: what may follow the end of a JPEG image. A lone 0xff
// after EOI once made the inspector read past a one-byte peek (a panic);
// it is trailing data like any other byte.
func TestJPEGAfterEOI(t *testing.T) {
	j := uploadcorpus.JPEG()
	for _, tt := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"image alone", j, ""},
		{"second image (MPF)", append(append([]byte{}, j...), j...), ""},
		{"attack: lone 0xff after EOI", append(append([]byte{}, j...), 0xff), inspect.ReasonTrailingData},
		{"attack: 0xff 0xd8 and nothing more", append(append([]byte{}, j...), 0xff, 0xd8), inspect.ReasonCorrupt},
		{"attack: text after EOI", append(append([]byte{}, j...), "<script>"...), inspect.ReasonTrailingData},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := inspect.File(bytes.NewReader(tt.data), "a.jpg", inspect.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			if v.Reason != tt.reason || v.Allowed != (tt.reason == "") {
				t.Errorf("verdict %+v, want reason %q", v, tt.reason)
			}
		})
	}
}
