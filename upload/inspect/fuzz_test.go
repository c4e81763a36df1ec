package inspect_test

import (
	"bytes"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if len(uploadcorpus.Files()) == 0 {
		t.Fatal("empty seed corpus")
	}
}

// FuzzFile checks that whatever the bytes, an accepted file is of an
// allowed type whose extension matches its name, and carries no HTML tag
// in its first bytes; and that inspection reads the whole input.
func FuzzFile(f *testing.F) {
	for _, c := range uploadcorpus.Files() {
		f.Add(c.Data, c.Name)
	}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		v, err := inspect.File(bytes.NewReader(data), name, inspect.Policy{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Size != int64(len(data)) {
			t.Fatalf("Size %d of %d bytes", v.Size, len(data))
		}
		if !v.Allowed {
			if v.Reason == "" {
				t.Fatal("refused without a reason")
			}
			return
		}
		exts := map[string][]string{"image/png": {".png"}, "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif"}, "image/gif": {".gif"}, "image/webp": {".webp"}, "application/pdf": {".pdf"}}
		if !slices.Contains(inspect.DefaultAllow, v.Type) || v.Ext == "" || !slices.Contains(exts[v.Type], strings.ToLower(path.Ext(name))) {
			t.Fatalf("accepted %+v for %q", v, name)
		}
		head := strings.ToLower(string(data[:min(len(data), 8192)]))
		for _, tag := range []string{"<script", "<html", "<iframe", "<!doctype"} {
			if i := strings.Index(head, tag); i >= 0 && i+len(tag) < len(head) && strings.ContainsRune(" \t\n\r\f>/", rune(head[i+len(tag)])) {
				t.Fatalf("accepted a file holding %q", tag)
			}
		}
	})
}
