// Package uploadcorpus generates the files Bulwark's upload inspection is
// tested with: benign files of every accepted type and the attacks each
// check exists for (polyglots, trailing data, disguised archives,
// executables, active SVG, pixel bombs). Everything is generated in
// memory; nothing is downloaded.
package uploadcorpus

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"mime/multipart"
)

// File is one corpus file and the reason code Inspect must give it ("" for
// accepted).
type File struct {
	Name   string
	Data   []byte
	Reason string
}

func img() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	return m
}

// PNG returns a small valid PNG.
func PNG() []byte {
	var b bytes.Buffer
	png.Encode(&b, img())
	return b.Bytes()
}

// JPEG returns a small valid JPEG.
func JPEG() []byte {
	var b bytes.Buffer
	jpeg.Encode(&b, img(), nil)
	return b.Bytes()
}

// GIF returns a small valid GIF.
func GIF() []byte {
	var b bytes.Buffer
	p := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	p.Pix[3] = 1
	gif.Encode(&b, p, nil)
	return b.Bytes()
}

// WebP returns a minimal lossless WebP (VP8L) of 1x1 pixel.
func WebP() []byte {
	// VP8L: signature 0x2f, then 14 bits width-1, 14 bits height-1, one
	// alpha bit and a 3-bit version (0), then the image stream.
	vp8l := []byte{0x2f, 0x00, 0x00, 0x00, 0x00, 0x88, 0x88, 0x08, 0x00}
	return riff("WEBP", chunk4("VP8L", vp8l))
}

func chunk4(typ string, data []byte) []byte {
	out := append([]byte(typ), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func riff(form string, chunks ...[]byte) []byte {
	body := []byte(form)
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := append([]byte("RIFF"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(out[4:], uint32(len(body)))
	return append(out, body...)
}

// PDF returns a minimal valid one-page PDF with a correct xref table.
func PDF() []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
	}
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// PNGChunk returns p with a chunk inserted before IEND.
func PNGChunk(p []byte, typ string, data []byte) []byte {
	iend := len(p) - 12
	c := make([]byte, 8, 12+len(data))
	binary.BigEndian.PutUint32(c, uint32(len(data)))
	copy(c[4:], typ)
	c = append(c, data...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	out := append([]byte{}, p[:iend]...)
	out = append(out, c...)
	return append(out, p[iend:]...)
}

// PNGSize returns a PNG whose IHDR declares w x h pixels, with no image
// data: a decompression bomb as far as the header tells.
func PNGSize(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	out := []byte("\x89PNG\r\n\x1a\n")
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"IHDR", ihdr[:]}, {"IEND", nil}} {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(c.data)))
		b = append(b, c.typ...)
		b = append(b, c.data...)
		b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
		out = append(out, b...)
	}
	return out
}

// JPEGComment returns j with a COM segment after SOI.
func JPEGComment(j []byte, comment string) []byte {
	seg := []byte{0xff, 0xfe, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(comment)+2))
	seg = append(seg, comment...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// Zip returns a zip archive holding one text file.
func Zip() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("hello.txt")
	w.Write([]byte("hello"))
	zw.Close()
	return b.Bytes()
}

const payload = "<html><body><script>alert(document.domain)</script></body></html>"

// Files returns the whole corpus.
func Files() []File {
	cat := func(a []byte, b string) []byte { return append(append([]byte{}, a...), b...) }
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 56)...)
	pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 120)...)
	copy(pe[64:], "PE\x00\x00")
	return []File{
		{"photo.png", PNG(), ""},
		{"photo.jpg", JPEG(), ""},
		{"photo.JPEG", JPEG(), ""},
		{"anim.gif", GIF(), ""},
		{"pixel.webp", WebP(), ""},
		{"paper.pdf", PDF(), ""},
		{"polyglot-text.png", PNGChunk(PNG(), "tEXt", []byte("Comment\x00"+payload)), "polyglot_html"},
		{"polyglot-ztxt.png", PNGChunk(PNG(), "zTXt", append([]byte("Comment\x00\x00"), zlibBytes(payload)...)), "polyglot_html"},
		{"after-iend.png", cat(PNG(), payload), "trailing_data"},
		{"comment.jpg", JPEGComment(JPEG(), payload), "polyglot_html"},
		{"after-eoi.jpg", cat(JPEG(), "junk"), "trailing_data"},
		{"after-trailer.gif", cat(GIF(), "<script>alert(1)</script>"), "trailing_data"},
		{"page.jpg", []byte("<!DOCTYPE html>" + payload), "html"},
		{"page.html", []byte(payload), "html"},
		{"script.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), "svg_script"},
		{"onload.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>`), "svg_script"},
		{"foreign.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject></svg>`), "svg_script"},
		{"link.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><a xlink:href=" java&#x09;script:alert(1)"><rect width="1" height="1"/></a></svg>`), "svg_script"},
		{"style.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><style>rect{background:url(javascript:alert(1))}</style><rect width="1" height="1"/></svg>`), "svg_script"},
		{"set.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"><set attributeName="onmouseover" to="alert(1)"/></rect></svg>`), "svg_script"},
		{"nested.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><use href="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+#x"/></svg>`), "svg_script"},
		{"entity.svg", []byte(`<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>`), "svg_script"},
		{"clean.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><rect width="1" height="1"/></svg>`), "not_allowed"},
		{"elf.png", elf, "executable"},
		{"pe.png", pe, "executable"},
		{"run.png", []byte("#!/bin/sh\nrm -rf /\n"), "executable"},
		{"report.docx", Zip(), "disguised_archive"},
		{"bomb.png", PNGSize(100000, 100000), "pixel_bomb"},
		{"photo-as-gif.gif", PNG(), "type_mismatch"},
		{"empty.png", nil, "empty"},
	}
}

// Form returns a multipart/form-data body holding one file part (field,
// filename, data) and its Content-Type, with a fixed boundary.
func Form(field, filename string, data []byte) (body, contentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile(field, filename) // writes to memory: no error
	fw.Write(data)
	mw.Close()
	return b.String(), mw.FormDataContentType()
}
