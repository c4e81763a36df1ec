package upload_test

import (
	"bytes"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload"
)

func TestInspectCorpus(t *testing.T) {
	for _, f := range uploadcorpus.Files() {
		t.Run(f.Name, func(t *testing.T) {
			v, err := upload.Inspect(bytes.NewReader(f.Data), f.Name, upload.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			if v.Reason != f.Reason || v.Allowed != (f.Reason == "") {
				t.Fatalf("Inspect = %+v, want reason %q", v, f.Reason)
			}
			if v.Size != int64(len(f.Data)) {
				t.Errorf("Size %d, want %d", v.Size, len(f.Data))
			}
			if v.Allowed && v.Ext == "" {
				t.Errorf("allowed without a storage extension")
			}
		})
	}
}
