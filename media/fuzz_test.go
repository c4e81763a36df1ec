package media_test

import (
	"strings"
	"testing"
)

func pathSeeds() []string {
	return []string{"/ab/cat.png", "/../../etc/passwd", "/.secret", "/ab/.cat.png.meta", "/ab/link", `/ab\..\.secret`,
		"/ab%2F..%2F.secret", "/ab\u2215..\u2215.secret", "/ab\uff0f..\uff0f.secret", "/ab/cat.png\x00", "//ab/cat.png", "/ab/./cat.png"}
}

func TestPathSeedsNotEmpty(t *testing.T) {
	if len(pathSeeds()) == 0 {
		t.Fatal("empty seed corpus")
	}
}

// FuzzServePath checks that whatever the request path, the handler serves
// only the stored public files: never a dotfile (sidecars included),
// never a file outside the root (through "..", encodings or symbolic
// links), never a listing.
func FuzzServePath(f *testing.F) {
	for _, s := range pathSeeds() {
		f.Add(s)
	}
	h, _ := setup(f)
	public := map[string]bool{"\x89PNG fake": true, "%PDF-1.4": true, "<svg onload=alert(1)/>": true,
		"<script>alert(1)</script>": true, "<html><script>alert(1)</script>": true}
	f.Fuzz(func(t *testing.T, p string) {
		w := get(h, "usercontent.example.net", p)
		if w.Code == 200 || w.Code == 206 {
			if !public[w.Body.String()] {
				t.Fatalf("%q served %q", p, w.Body.String())
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(w.Header().Get("Content-Security-Policy"), "sandbox") {
				t.Fatalf("%q served without protective headers", p)
			}
		}
	})
}
