package upload_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/limits"
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
		if err := upload.Reencode(&out, bytes.NewReader(tc.data), tc.typ); err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		if bytes.Contains(out.Bytes(), []byte("<script")) {
			t.Errorf("%s: payload survived", tc.typ)
		}
		v, err := upload.Inspect(bytes.NewReader(out.Bytes()), "x"+extFor(tc.typ), upload.Policy{})
		if err != nil || !v.Allowed || v.Type != tc.typ {
			t.Errorf("%s: re-encoded file: %+v %v", tc.typ, v, err)
		}
	}
	if err := upload.Reencode(&bytes.Buffer{}, bytes.NewReader(uploadcorpus.WebP()), "image/webp"); err != upload.ErrCannotReencode {
		t.Errorf("webp: %v", err)
	}
}

func extFor(typ string) string {
	return map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}[typ]
}

func TestSVGAllowedWhenClean(t *testing.T) {
	policy := upload.Policy{Allow: []string{"image/svg+xml"}}
	for _, svg := range []string{
		`<svg xmlns="http://www.w3.org/2000/svg"><text>metadata: none</text><rect width="1" height="1" fill="url(#g)"/></svg>`,
		`<svg xmlns="http://www.w3.org/2000/svg"><image href="data:image/png;base64,iVBORw0KGgo="/></svg>`,
	} {
		v, err := upload.Inspect(strings.NewReader(svg), "a.svg", policy)
		if err != nil || !v.Allowed {
			t.Errorf("%s: %+v %v", svg, v, err)
		}
	}
}

func TestJPEGChains(t *testing.T) {
	j := uploadcorpus.JPEG()
	mpf := append(append([]byte{}, j...), j...)
	if v, _ := upload.Inspect(bytes.NewReader(mpf), "a.jpg", upload.Policy{}); !v.Allowed {
		t.Errorf("two chained JPEG images (MPF) refused: %+v", v)
	}
	bad := append(append([]byte{}, j...), uploadcorpus.JPEGComment(j, "<script>alert(1)</script>")...)
	if v, _ := upload.Inspect(bytes.NewReader(bad), "a.jpg", upload.Policy{}); v.Reason != upload.ReasonPolyglot {
		t.Errorf("payload in a chained image: %+v", v)
	}
	trunc := append(append([]byte{}, j...), j[:len(j)/2]...)
	if v, _ := upload.Inspect(bytes.NewReader(trunc), "a.jpg", upload.Policy{}); v.Allowed {
		t.Errorf("truncated chained image accepted")
	}
}

func TestInspectReportsReadErrors(t *testing.T) {
	// A file cut by the per-file cap inside a PNG chunk: the cap's error,
	// not a verdict on the truncated bytes.
	png := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "zzZz", bytes.Repeat([]byte("a"), 4000))
	body := filePart("f", "a.png", string(png)) + end
	lim := limits.Default()
	lim.MaxFileBytes = 1000
	mr, err := upload.NewReader(strings.NewReader(body), ct, lim)
	if err != nil {
		t.Fatal(err)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	_, err = upload.Inspect(p, "a.png", upload.Policy{})
	if !errors.Is(err, limits.ErrFileTooLarge) {
		t.Fatalf("err = %v, want ErrFileTooLarge", err)
	}
	// Reading on keeps failing the same way, without negative counts.
	for range 3 {
		if n, err := p.Read(make([]byte, 10)); n != 0 || !errors.Is(err, limits.ErrFileTooLarge) {
			t.Fatalf("Read after the cap: %d, %v", n, err)
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, p := range []upload.Policy{
		{Allow: []string{"text/html"}},
		{Allow: []string{"application/x-elf"}},
		{Allow: []string{"application/x-nonsense"}},
		{MaxPixels: -1},
	} {
		if err := p.Validate(); !errors.Is(err, upload.ErrInvalidPolicy) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := (upload.Policy{Allow: []string{"image/svg+xml", "text/plain"}, MaxPixels: 1}).Validate(); err != nil {
		t.Error(err)
	}
	// A tighter pixel cap refuses an ordinary image.
	v, _ := upload.Inspect(bytes.NewReader(uploadcorpus.PNG()), "a.png", upload.Policy{MaxPixels: 10})
	if v.Reason != upload.ReasonPixelBomb {
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
	policy := upload.Policy{Allow: []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}}
	for _, tc := range []struct {
		name   string
		data   []byte
		reason string
	}{
		{"report.docx", docx, ""},
		{"report.zip", docx, upload.ReasonTypeMismatch},
		{"report.png", docx, upload.ReasonDisguisedArchive},
		{"report.docx", uploadcorpus.Zip(), upload.ReasonDisguisedArchive}, // no OOXML structure
	} {
		v, err := upload.Inspect(bytes.NewReader(tc.data), tc.name, policy)
		if err != nil || v.Reason != tc.reason || v.Allowed != (tc.reason == "") {
			t.Errorf("%s: %+v %v, want reason %q", tc.name, v, err, tc.reason)
		}
	}
}
