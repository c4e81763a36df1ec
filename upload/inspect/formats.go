package inspect

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// maxMetaChunk bounds the metadata (text chunks, comments) read into
// memory for scanning, and the decompressed size of compressed text.
const maxMetaChunk = 1 << 20

// trailing reports whether br holds any byte after a format's end marker.
func trailing(br *bufio.Reader) bool {
	_, err := br.Peek(1)
	return err == nil
}

func corrupt(format string, args ...any) (string, string) {
	return ReasonCorrupt, fmt.Sprintf(format, args...)
}

// checkPNG walks every chunk, verifying CRCs, scanning text and other
// metadata chunks for markup (decompressing zTXt/iTXt with a cap), and
// refusing any byte after IEND.
func checkPNG(br *bufio.Reader) (string, string) {
	var sig [8]byte
	if _, err := io.ReadFull(br, sig[:]); err != nil || string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return corrupt("bad PNG signature")
	}
	first := true
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return corrupt("PNG ends before IEND")
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:8])
		if n > 1<<31-1 {
			return corrupt("PNG chunk length %d", n)
		}
		if first && typ != "IHDR" {
			return corrupt("PNG does not start with IHDR")
		}
		first = false
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:8])
		var data []byte
		if typ != "IDAT" && n <= maxMetaChunk {
			data = make([]byte, n)
			if _, err := io.ReadFull(br, data); err != nil {
				return corrupt("PNG chunk %q truncated", typ)
			}
			crc.Write(data)
		} else if typ != "IDAT" && typ[0]&0x20 != 0 {
			return ReasonTooLarge, fmt.Sprintf("PNG ancillary chunk %q of %d bytes", typ, n)
		} else if _, err := io.CopyN(crc, br, int64(n)); err != nil {
			return corrupt("PNG chunk %q truncated", typ)
		}
		var sum [4]byte
		if _, err := io.ReadFull(br, sum[:]); err != nil {
			return corrupt("PNG chunk %q truncated", typ)
		}
		if binary.BigEndian.Uint32(sum[:]) != crc.Sum32() {
			return corrupt("PNG chunk %q has a bad CRC", typ)
		}
		if data != nil {
			text, err := pngText(typ, data)
			if err != nil {
				return corrupt("PNG chunk %q: %v", typ, err)
			}
			if tag := findHTML(text); tag != "" {
				return ReasonPolyglot, fmt.Sprintf("PNG chunk %q contains %q", typ, tag)
			}
		}
		if typ == "IEND" {
			if trailing(br) {
				return ReasonTrailingData, "data after PNG IEND"
			}
			return "", ""
		}
	}
}

// pngText returns the text to scan in a chunk: decompressed for zTXt and
// compressed iTXt, the raw data for any other chunk.
func pngText(typ string, data []byte) ([]byte, error) {
	switch typ {
	case "zTXt":
		k, rest, ok := bytes.Cut(data, []byte{0})
		if !ok || len(rest) < 1 {
			return nil, errors.New("malformed zTXt")
		}
		z, err := inflate(rest[1:])
		return append(append(k, ' '), z...), err
	case "iTXt":
		k, rest, ok := bytes.Cut(data, []byte{0})
		if !ok || len(rest) < 2 {
			return nil, errors.New("malformed iTXt")
		}
		compressed := rest[0] == 1
		rest = rest[2:]
		// language tag and translated keyword, then the text
		_, rest, ok1 := bytes.Cut(rest, []byte{0})
		tk, text, ok2 := bytes.Cut(rest, []byte{0})
		if !ok1 || !ok2 {
			return nil, errors.New("malformed iTXt")
		}
		if compressed {
			z, err := inflate(text)
			if err != nil {
				return nil, err
			}
			text = z
		}
		return bytes.Join([][]byte{k, tk, text}, []byte{' '}), nil
	}
	return data, nil
}

// inflate decompresses zlib data, refusing more than maxMetaChunk bytes of
// output (a compressed text chunk is a small decompression bomb).
func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxMetaChunk+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxMetaChunk {
		return nil, errors.New("compressed text expands beyond the cap")
	}
	return out, nil
}

// checkJPEG walks the marker segments and entropy-coded data, scanning
// APPn and COM segments for markup and refusing any byte after EOI.
func checkJPEG(br *bufio.Reader) (string, string) { return checkJPEGDepth(br, 0) }

// maxJPEGImages bounds the images chained in one file (MPF stores a
// camera's extra images, such as gain maps, after the first EOI).
const maxJPEGImages = 8

// checkJPEGDepth checks one image: the SOI, then each marker in turn
// (standalone markers, segments, the entropy-coded scan after SOS) until
// EOI, then what follows EOI. depth counts the images before this one.
func checkJPEGDepth(br *bufio.Reader, depth int) (string, string) {
	var soi [2]byte
	if _, err := io.ReadFull(br, soi[:]); err != nil || soi != [2]byte{0xff, 0xd8} {
		return corrupt("bad JPEG start")
	}
	m, reason, msg := jpegMarker(br)
	for reason == "" {
		switch {
		case m == 0xd9: // EOI
			return jpegAfterEOI(br, depth)
		case m == 0x01 || m >= 0xd0 && m <= 0xd7 || m == 0x00: // standalone
			m, reason, msg = jpegMarker(br)
		default:
			if reason, msg = jpegSegment(br, m); reason != "" {
				return reason, msg
			}
			if m == 0xda { // SOS: the scan runs up to the next marker
				m, reason, msg = jpegScan(br)
			} else {
				m, reason, msg = jpegMarker(br)
			}
		}
	}
	return reason, msg
}

// jpegMarker reads the next marker: 0xff, any fill bytes (more 0xff),
// then the marker byte.
func jpegMarker(br *bufio.Reader) (byte, string, string) {
	c, err := br.ReadByte()
	if err != nil {
		r, msg := corrupt("JPEG ends before EOI")
		return 0, r, msg
	}
	if c != 0xff {
		r, msg := corrupt("JPEG: expected a marker, found %#x", c)
		return 0, r, msg
	}
	m, err := br.ReadByte()
	for err == nil && m == 0xff { // fill bytes
		m, err = br.ReadByte()
	}
	if err != nil {
		r, msg := corrupt("JPEG ends before EOI")
		return 0, r, msg
	}
	return m, "", ""
}

// jpegSegment reads the segment of marker m: its length, then its data,
// which is searched for markup in APPn and COM segments and skipped in
// the others.
func jpegSegment(br *bufio.Reader, m byte) (string, string) {
	var lb [2]byte
	if _, err := io.ReadFull(br, lb[:]); err != nil {
		return corrupt("JPEG segment truncated")
	}
	n := int(binary.BigEndian.Uint16(lb[:]))
	if n < 2 {
		return corrupt("JPEG segment length %d", n)
	}
	if m >= 0xe0 && m <= 0xef || m == 0xfe {
		data := make([]byte, n-2)
		if _, err := io.ReadFull(br, data); err != nil {
			return corrupt("JPEG segment truncated")
		}
		if tag := findHTML(data); tag != "" {
			return ReasonPolyglot, fmt.Sprintf("JPEG segment %#x contains %q", m, tag)
		}
		return "", ""
	}
	if _, err := br.Discard(n - 2); err != nil {
		return corrupt("JPEG segment truncated")
	}
	return "", ""
}

// jpegScan skips entropy-coded data up to the first marker that is not a
// stuffed zero or a restart marker, and returns that marker.
func jpegScan(br *bufio.Reader) (byte, string, string) {
	for {
		c, err := br.ReadByte()
		if err != nil {
			r, msg := corrupt("JPEG scan truncated")
			return 0, r, msg
		}
		if c != 0xff {
			continue
		}
		m, err := br.ReadByte()
		for err == nil && m == 0xff {
			m, err = br.ReadByte()
		}
		if err != nil {
			r, msg := corrupt("JPEG scan truncated")
			return 0, r, msg
		}
		if m == 0x00 || m >= 0xd0 && m <= 0xd7 {
			continue
		}
		return m, "", ""
	}
}

// jpegAfterEOI accepts the end of the file, or a further complete image
// (MPF), checked like the first, up to maxJPEGImages; anything else after
// EOI is refused. A lone byte after EOI is not an image start.
func jpegAfterEOI(br *bufio.Reader, depth int) (string, string) {
	if !trailing(br) {
		return "", ""
	}
	if pk, _ := br.Peek(2); depth+1 < maxJPEGImages && len(pk) == 2 && pk[0] == 0xff && pk[1] == 0xd8 {
		return checkJPEGDepth(br, depth+1)
	}
	return ReasonTrailingData, "data after JPEG EOI"
}

// checkGIF walks the blocks, scanning comment, application and plain-text
// extensions for markup and refusing any byte after the trailer.
func checkGIF(br *bufio.Reader) (string, string) {
	var h [13]byte
	if _, err := io.ReadFull(br, h[:]); err != nil || (string(h[:6]) != "GIF87a" && string(h[:6]) != "GIF89a") {
		return corrupt("bad GIF header")
	}
	if h[10]&0x80 != 0 {
		if _, err := br.Discard(3 << (h[10]&7 + 1)); err != nil {
			return corrupt("GIF color table truncated")
		}
	}
	for {
		b, err := br.ReadByte()
		if err != nil {
			return corrupt("GIF ends before the trailer")
		}
		switch b {
		case 0x3b:
			if trailing(br) {
				return ReasonTrailingData, "data after GIF trailer"
			}
			return "", ""
		case 0x21:
			label, err := br.ReadByte()
			if err != nil {
				return corrupt("GIF extension truncated")
			}
			data, err := gifSubBlocks(br, label != 0xf9)
			if err != nil {
				return corrupt("GIF extension: %v", err)
			}
			if tag := findHTML(data); tag != "" {
				return ReasonPolyglot, fmt.Sprintf("GIF extension %#x contains %q", label, tag)
			}
		case 0x2c:
			var d [9]byte
			if _, err := io.ReadFull(br, d[:]); err != nil {
				return corrupt("GIF image descriptor truncated")
			}
			if d[8]&0x80 != 0 {
				if _, err := br.Discard(3 << (d[8]&7 + 1)); err != nil {
					return corrupt("GIF color table truncated")
				}
			}
			if _, err := br.ReadByte(); err != nil { // LZW minimum code size
				return corrupt("GIF image truncated")
			}
			if _, err := gifSubBlocks(br, false); err != nil {
				return corrupt("GIF image: %v", err)
			}
		default:
			return corrupt("GIF: unknown block %#x", b)
		}
	}
}

// gifSubBlocks reads data sub-blocks up to the terminator, keeping their
// content (up to maxMetaChunk) when keep is set.
func gifSubBlocks(br *bufio.Reader, keep bool) ([]byte, error) {
	var out []byte
	for {
		n, err := br.ReadByte()
		if err != nil {
			return nil, errors.New("truncated")
		}
		if n == 0 {
			return out, nil
		}
		if keep && len(out)+int(n) <= maxMetaChunk {
			start := len(out)
			out = append(out, make([]byte, n)...)
			if _, err := io.ReadFull(br, out[start:]); err != nil {
				return nil, errors.New("truncated")
			}
			continue
		}
		if _, err := br.Discard(int(n)); err != nil {
			return nil, errors.New("truncated")
		}
	}
}

// checkWebP walks the RIFF chunks (their sizes must add up to the RIFF
// size), scanning metadata chunks for markup and refusing data after the
// RIFF container.
func checkWebP(br *bufio.Reader) (string, string) {
	var h [12]byte
	if _, err := io.ReadFull(br, h[:]); err != nil || string(h[:4]) != "RIFF" || string(h[8:]) != "WEBP" {
		return corrupt("bad WebP header")
	}
	left := int64(binary.LittleEndian.Uint32(h[4:8])) - 4
	for left > 0 {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return corrupt("WebP chunk truncated")
		}
		n := int64(binary.LittleEndian.Uint32(ch[4:]))
		padded := n + n&1
		left -= 8 + padded
		if left < 0 {
			return corrupt("WebP chunk overruns the container")
		}
		typ := string(ch[:4])
		if typ != "VP8 " && typ != "VP8L" && typ != "ALPH" && typ != "ANMF" && padded <= maxMetaChunk {
			data := make([]byte, padded)
			if _, err := io.ReadFull(br, data); err != nil {
				return corrupt("WebP chunk truncated")
			}
			if tag := findHTML(data); tag != "" {
				return ReasonPolyglot, fmt.Sprintf("WebP chunk %q contains %q", typ, tag)
			}
			continue
		}
		if _, err := br.Discard(int(padded)); err != nil {
			return corrupt("WebP chunk truncated")
		}
	}
	if trailing(br) {
		return ReasonTrailingData, "data after the WebP container"
	}
	return "", ""
}

// checkMarkup parses SVG (svg set) or generic XML with encoding/xml and
// refuses active content: script elements, foreignObject (arbitrary HTML),
// elements embedding other documents, on* event handler attributes,
// javascript: (and data:text/html) URLs in any attribute, entity
// declarations, and, for XML, XHTML elements and stylesheets (XSLT runs
// script).
func checkMarkup(br *bufio.Reader, svg bool) (string, string) {
	reason := ReasonXMLScript
	if svg {
		reason = ReasonSVGScript
	}
	d := xml.NewDecoder(io.LimitReader(br, maxStructured+1))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if d.InputOffset() > maxStructured {
				return ReasonTooLarge, "markup larger than the inspector parses"
			}
			return "", ""
		}
		if err != nil {
			if d.InputOffset() > maxStructured {
				return ReasonTooLarge, "markup larger than the inspector parses"
			}
			return corrupt("markup does not parse: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			local := strings.ToLower(t.Name.Local)
			switch local {
			case "script", "foreignobject", "iframe", "embed", "object", "handler", "listener":
				return reason, fmt.Sprintf("<%s> element", t.Name.Local)
			}
			if t.Name.Space == "http://www.w3.org/1999/xhtml" {
				return reason, fmt.Sprintf("XHTML element <%s>", t.Name.Local)
			}
			for _, a := range t.Attr {
				an := strings.ToLower(a.Name.Local)
				if strings.HasPrefix(an, "on") {
					return reason, fmt.Sprintf("event handler attribute %q", a.Name.Local)
				}
				if dangerousURL(a.Value) {
					return reason, fmt.Sprintf("attribute %q holds a script URL", a.Name.Local)
				}
				if an == "attributename" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Value)), "on") {
					// <set attributeName="onclick" to="..."> installs a
					// handler by animation.
					return reason, "animation of an event handler attribute"
				}
			}
		case xml.CharData:
			// Style sheets and text can carry URLs too (url(javascript:...)).
			if dangerousURL(string(t)) {
				return reason, "text holds a script URL"
			}
		case xml.Directive:
			if bytes.Contains(bytes.ToUpper(t), []byte("<!ENTITY")) || bytes.Contains(bytes.ToUpper(t), []byte("ENTITY")) {
				return reason, "entity declarations"
			}
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml-stylesheet") {
				return reason, "xml-stylesheet processing instruction"
			}
		}
	}
}

// dangerousURL reports whether an attribute value carries a javascript:,
// vbscript: or data:text/html URL anywhere (lists such as animate values
// included), ignoring the whitespace and control characters browsers skip.
func dangerousURL(v string) bool {
	var b strings.Builder
	for _, r := range v {
		if r <= ' ' {
			continue
		}
		b.WriteRune(r)
	}
	s := strings.ToLower(b.String())
	if strings.Contains(s, "javascript:") || strings.Contains(s, "vbscript:") {
		return true
	}
	// data: URLs may only carry raster images: a data: SVG, HTML or XML
	// document is a nested active document.
	for i := strings.Index(s, "data:"); i >= 0; {
		rest := s[i+len("data:"):]
		// Only a URL start counts ("metadata:" is a word).
		atStart := i == 0 || strings.IndexByte("('\",;=", s[i-1]) >= 0
		if atStart && !strings.HasPrefix(rest, "image/png") && !strings.HasPrefix(rest, "image/jpeg") &&
			!strings.HasPrefix(rest, "image/gif") && !strings.HasPrefix(rest, "image/webp") {
			return true
		}
		j := strings.Index(rest, "data:")
		if j < 0 {
			break
		}
		i += len("data:") + j
	}
	return false
}
