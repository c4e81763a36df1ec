package inspect_test

import (
	"bytes"
	"mime"
	"strings"
	"testing"

	"github.com/gabriel-vasile/mimetype"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// FuzzBody: whatever the body and its declared type, a body
// Body allows has a detected type in the allow-list, agrees with a
// specific declared type, and is allowed by File itself under that
// type's extension (the two decisions never diverge).
func FuzzBody(f *testing.F) {
	png := uploadcorpus.PNG()
	for _, s := range []struct {
		ct   string
		body []byte
	}{
		{"image/png", png},
		{"", png},
		{"application/octet-stream", png},
		{"image/gif", png},
		{"image/png", uploadcorpus.PNGChunk(png, "tEXt", []byte("c\x00<html>"))},
		{"text/html", []byte("<html>")},
		{"application/json", []byte(`{"a":1}`)},
		{"application/json", []byte("<html><body>")},
		{"text/plain", png},
		{"image/png; charset=x", []byte("\x89PNG\r\n\x1a\n<script>")},
	} {
		f.Add(s.ct, s.body)
	}
	allowed := map[string]bool{}
	for _, t := range inspect.DefaultAllow {
		allowed[t] = true
	}
	ext := map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp", "application/pdf": ".pdf"}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		v, err := inspect.Body(bytes.NewReader(body), ct, inspect.Policy{})
		if err != nil {
			t.Fatalf("read error from memory: %v", err)
		}
		if !v.Allowed {
			return
		}
		declared, _, err := mime.ParseMediaType(ct)
		if err != nil {
			declared = ""
		}
		generic := declared == "" || declared == "application/octet-stream" || declared == "binary/octet-stream"
		if generic && v.Type == "application/octet-stream" {
			// Opaque data: content of no known format.
			if d := mimetype.Detect(body[:min(len(body), 3072)]); d.Parent() != nil {
				t.Fatalf("allowed as opaque data, but the content is %s", d)
			}
			return
		}
		if isData(declared) || generic && isTextChild(mimetype.Detect(body[:min(len(body), 3072)])) {
			// Data (an API's JSON): text, never markup a browser renders.
			if !generic && v.Type != declared {
				t.Fatalf("data declared %q, allowed as %q", declared, v.Type)
			}
			head := body[:min(len(body), 3072)]
			if d := mimetype.Detect(head); !d.Is("text/plain") && !isTextChild(d) || isMarkup(d) {
				t.Fatalf("data declared %q allowed with %s content", declared, d)
			}
			return
		}
		if !allowed[v.Type] {
			t.Fatalf("allowed type %q not in the allow-list", v.Type)
		}
		if !generic && declared != v.Type {
			t.Fatalf("declared %q, allowed as %q", declared, v.Type)
		}
		if w, _ := inspect.File(bytes.NewReader(body), "x"+ext[v.Type], inspect.Policy{}); !w.Allowed {
			t.Fatalf("Body allowed %q (%s) but File refuses it: %+v", ct, v.Type, w)
		}
	})
}

// isData mirrors the types Body treats as data, for the property.
func isData(t string) bool {
	switch t {
	case "application/json", "application/xml", "text/xml", "text/plain", "text/csv",
		"application/x-ndjson", "application/graphql", "application/graphql-response+json":
		return true
	}
	return strings.HasPrefix(t, "application/") && (strings.HasSuffix(t, "+json") || strings.HasSuffix(t, "+xml"))
}

func isTextChild(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("text/plain") {
			return true
		}
	}
	return false
}

func isMarkup(m *mimetype.MIME) bool {
	for ; m != nil; m = m.Parent() {
		if m.Is("text/html") || m.Is("application/xhtml+xml") || m.Is("image/svg+xml") {
			return true
		}
	}
	return false
}
