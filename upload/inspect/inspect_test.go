package inspect_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

func TestInspectCorpus(t *testing.T) {
	for _, f := range uploadcorpus.Files() {
		t.Run(f.Name, func(t *testing.T) {
			v, err := inspect.File(bytes.NewReader(f.Data), f.Name, inspect.Policy{})
			if err != nil {
				t.Fatal(err)
			}
			if v.Reason != f.Reason || v.Allowed != (f.Reason == "") {
				t.Fatalf("File = %+v, want reason %q", v, f.Reason)
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

func TestReencodeStripsPayload(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		data []byte
	}{
		{"image/png", uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>"))},
		{"image/jpeg", uploadcorpus.JPEGComment(uploadcorpus.JPEG(), "<script>alert(1)</script>")},
		{"image/gif", uploadcorpus.GIF()},
	} {
		var out bytes.Buffer
		if err := inspect.Reencode(&out, bytes.NewReader(tc.data), tc.typ); err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if bytes.Contains(out.Bytes(), []byte("<script")) {
			t.Errorf("%s: payload survived", tc.typ)
		}
		v, err := inspect.File(bytes.NewReader(out.Bytes()), "x"+extFor(tc.typ), inspect.Policy{})
		if err != nil || !v.Allowed || v.Type != tc.typ {
			t.Errorf("%s: re-encoded file: %+v %v", tc.typ, v, err)
		}
	}
	if err := inspect.Reencode(&bytes.Buffer{}, bytes.NewReader(uploadcorpus.WebP()), "image/webp"); err != inspect.ErrCannotReencode {
		t.Errorf("webp: %v", err)
	}
}

func extFor(typ string) string {
	return map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}[typ]
}

func TestSVGAllowedWhenClean(t *testing.T) {
	policy := inspect.Policy{Allow: []string{"image/svg+xml"}}
	for _, svg := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"><text>metadata: none</text><rect width="1" height="1" fill="url(#g)"/></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,iVBORw0KGgo="/></svg>`,
	} {
		v, err := inspect.File(strings.NewReader(svg), "a.svg", policy)
		if err != nil || !v.Allowed {
			t.Errorf("%s: %+v %v", svg, v, err)
		}
	}
}

func TestJPEGChains(t *testing.T) {
	j := uploadcorpus.JPEG()
	mpf := append(append([]byte{}, j...), j...)
	if v, _ := inspect.File(bytes.NewReader(mpf), "a.jpg", inspect.Policy{}); !v.Allowed {
		t.Errorf("two chained JPEG images (MPF) refused: %+v", v)
	}
	bad := append(append([]byte{}, j...), uploadcorpus.JPEGComment(j, "<script>alert(1)</script>")...)
	if v, _ := inspect.File(bytes.NewReader(bad), "a.jpg", inspect.Policy{}); v.Reason != inspect.ReasonPolyglot {
		t.Errorf("payload in a chained image: %+v", v)
	}
	trunc := append(append([]byte{}, j...), j[:len(j)/2]...)
	if v, _ := inspect.File(bytes.NewReader(trunc), "a.jpg", inspect.Policy{}); v.Allowed {
		t.Errorf("truncated chained image accepted")
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []inspect.Policy{
		{Allow: []string{"text/html"}},
		{Allow: []string{"application/x-elf"}},
		{Allow: []string{"application/x-nonsense"}},
		{MaxPixels: -1},
	} {
		if err := p.Validate(); !errors.Is(err, inspect.ErrInvalidPolicy) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := (inspect.Policy{Allow: []string{"image/svg+xml", "text/plain"}, MaxPixels: 1}).Validate(); err != nil {
		t.Error(err)
	}
	// A tighter pixel cap refuses an ordinary image.
	v, _ := inspect.File(bytes.NewReader(uploadcorpus.PNG()), "a.png", inspect.Policy{MaxPixels: 10})
	if v.Reason != inspect.ReasonPixelBomb {
		t.Errorf("%+v", v)
	}
}

func TestOfficeDocuments(t *testing.T) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, _ := zw.Create(name)
		w.Write([]byte(`<?xml version="1.0"?><x/>`))
	}
	zw.Close()
	docx := b.Bytes()
	policy := inspect.Policy{Allow: []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}}
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"report.docx", docx, ""},
		{"report.zip", docx, inspect.ReasonTypeMismatch},
		{"report.png", docx, inspect.ReasonDisguisedArchive},
		{"report.docx", uploadcorpus.Zip(), inspect.ReasonDisguisedArchive}, // no OOXML structure
	} {
		v, err := inspect.File(bytes.NewReader(tc.data), tc.name, policy)
		if err != nil || v.Reason != tc.reason || v.Allowed != (tc.reason == "") {
			t.Errorf("%s: %+v %v, want reason %q", tc.name, v, err, tc.reason)
		}
	}
}
