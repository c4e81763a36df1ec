package inspect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // DecodeConfig for GIF
	_ "image/jpeg" // DecodeConfig for JPEG
	_ "image/png"  // DecodeConfig for PNG
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gabriel-vasile/mimetype"
	_ "golang.org/x/image/webp" // DecodeConfig for WebP
)

// Reason codes of a Verdict. They are stable: logs, metrics and clients
// may branch on them.
const (
	ReasonNotAllowed       = "not_allowed"       // detected type is not in the allow-list
	ReasonTypeMismatch     = "type_mismatch"     // the name's extension is not one of the detected type's
	ReasonHTML             = "html"              // the content is HTML
	ReasonSVGScript        = "svg_script"        // SVG with script, event handlers, foreignObject, javascript: URLs or entities
	ReasonXMLScript        = "xml_script"        // XML carrying XHTML, scripts or stylesheets
	ReasonExecutable       = "executable"        // ELF, PE, Mach-O, WebAssembly, Java class, or a script
	ReasonPolyglot         = "polyglot_html"     // markup inside a file of another type
	ReasonTrailingData     = "trailing_data"     // bytes after the format's end marker
	ReasonDisguisedArchive = "disguised_archive" // an archive under a non-archive name, or a document without its structure
	ReasonPixelBomb        = "pixel_bomb"        // an image declaring more pixels than MaxPixels
	ReasonCorrupt          = "corrupt"           // the content does not parse as its detected type
	ReasonEmpty            = "empty"             // no content
	ReasonTooLarge         = "too_large"         // larger than the inspector reads for this type
)

// Verdict is the outcome of File and Body.
type Verdict struct {
	// Type is the MIME type detected from the content, without parameters
	// ("application/octet-stream" when unknown).
	Type string
	// Ext is the extension to store the file under (from the detected
	// type, e.g. ".jpg"); empty unless Allowed.
	Ext string
	// Allowed reports whether the file may be accepted.
	Allowed bool
	// Reason is one of the Reason constants when refused, "" when allowed.
	Reason string
	// Message explains the refusal for logs (never echo it to clients: it
	// may quote file content metadata).
	Message string
	// Width and Height are an image's declared dimensions.
	Width, Height int
	// Size is the number of bytes inspected (the whole input).
	Size int64
}

// DefaultAllow is the allow-list used when Policy.Allow is nil: raster
// images browsers render inertly, and PDF.
var DefaultAllow = []string{"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}

// DefaultMaxPixels is the pixel cap used when Policy.MaxPixels is zero
// (about Pillow's MAX_IMAGE_PIXELS).
const DefaultMaxPixels = 89_478_485

// Policy says which content is accepted.
type Policy struct {
	// Allow lists the MIME types accepted, as detected from content. Nil
	// means DefaultAllow. HTML, XHTML, executables and scripts can never
	// be allowed; "image/svg+xml" may be, and SVGs are then still refused
	// when they carry script.
	Allow []string `toml:"allow"`
	// MaxPixels caps width*height declared by an image, read from its
	// header without decoding (decompression bombs). Zero means
	// DefaultMaxPixels; negative values are invalid.
	MaxPixels int64 `toml:"max_pixels"`
}

// ErrInvalidPolicy is wrapped by Policy.Validate errors.
var ErrInvalidPolicy = errors.New("inspect: invalid policy")

// Validate reports the first problem in p.
func (p Policy) Validate() error {
	if p.MaxPixels < 0 {
		return fmt.Errorf("%w: max_pixels %d is negative", ErrInvalidPolicy, p.MaxPixels)
	}
	for _, t := range p.Allow {
		if never(t) {
			return fmt.Errorf("%w: type %q can never be allowed", ErrInvalidPolicy, t)
		}
		if len(extensionsOf(t)) == 0 {
			return fmt.Errorf("%w: unknown type %q", ErrInvalidPolicy, t)
		}
	}
	return nil
}

func (p Policy) allows(t string) bool {
	allow := p.Allow
	if allow == nil {
		allow = DefaultAllow
	}
	return slices.Contains(allow, t)
}

func (p Policy) maxPixels() int64 {
	if p.MaxPixels <= 0 {
		// Zero is the default; a negative value (refused by Validate)
		// must not disable the cap either.
		return DefaultMaxPixels
	}
	return p.MaxPixels
}

// never lists types no policy may allow: they execute in a browser or on
// a machine.
func never(t string) bool {
	switch t {
	case "text/html", "application/xhtml+xml", "text/javascript", "application/javascript",
		"application/x-elf", "application/x-executable", "application/x-sharedlib", "application/x-object",
		"application/x-coredump", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
		"application/x-mach-binary", "application/wasm", "application/x-java-applet",
		"text/x-shellscript", "text/x-php", "text/x-python", "text/x-perl", "text/x-lua", "text/x-tcl":
		return true
	}
	return false
}

var extTable = map[string][]string{
	"image/png":       {".png"},
	"image/jpeg":      {".jpg", ".jpeg", ".jpe", ".jfif"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"image/avif":      {".avif"},
	"application/pdf": {".pdf"},
	"image/svg+xml":   {".svg"},
	"text/plain":      {".txt"},
	"text/csv":        {".csv"},
	"application/zip": {".zip"},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   {".docx"},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         {".xlsx"},
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": {".pptx"},
	"application/vnd.oasis.opendocument.text":                                   {".odt"},
	"application/x-7z-compressed":                                               {".7z"},
	"application/x-rar-compressed":                                              {".rar"},
	"application/gzip":                                                          {".gz", ".tgz"},
	"application/x-tar":                                                         {".tar"},
}

func extensionsOf(t string) []string {
	if e, ok := extTable[t]; ok {
		return e
	}
	if m := mimetype.Lookup(t); m != nil && m.Extension() != "" {
		return []string{m.Extension()}
	}
	return nil
}

// archiveTypes are container formats that must never pass as something
// else: an archive renamed .docx or .png would reach whoever opens it.
var archiveTypes = []string{"application/zip", "application/x-rar-compressed", "application/x-7z-compressed",
	"application/gzip", "application/x-tar", "application/x-bzip2", "application/x-xz", "application/zstd"}

var archiveExts = []string{".zip", ".rar", ".7z", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst"}

// headSize is how much of the start of a file is checked for markup and
// used for type detection. Browsers sniff at most the first 1445 bytes.
const headSize = 8 << 10

// maxStructured bounds the size of textual formats (SVG, XML) parsed in
// full.
const maxStructured = 8 << 20

// File decides whether a file is acceptable under policy, by content
// only: name contributes just its extension, which must agree with the
// detected type. It reads r to the end (formats are parsed in full, to find
// data after the end marker) holding at most a few buffers in memory. The
// error is for read failures only (including a *limits.Error from a capped
// reader, returned as is); refusals are in the Verdict.
func File(r io.Reader, name string, policy Policy) (Verdict, error) {
	cr := &countReader{r: r}
	br := bufio.NewReaderSize(cr, 64<<10)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return Verdict{}, err
	}
	head = bytes.Clone(head)
	v := inspect(br, head, strings.ToLower(filepath.Ext(name)), policy)
	// Drain what the checks did not need, so Size is the whole input and a
	// read error is reported.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return Verdict{}, err
	}
	if cr.err != nil {
		// A read failed inside a format check (which then saw a truncated
		// file): report the failure, not a verdict on partial data.
		return Verdict{}, cr.err
	}
	v.Size = cr.n
	if !v.Allowed {
		v.Ext = ""
	}
	return v, nil
}

type countReader struct {
	r   io.Reader
	n   int64
	err error // first failure other than io.EOF
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

func refuse(v Verdict, reason, format string, args ...any) Verdict {
	v.Allowed, v.Reason, v.Message = false, reason, fmt.Sprintf(format, args...)
	return v
}

func inspect(br *bufio.Reader, head []byte, ext string, policy Policy) Verdict {
	if len(head) == 0 {
		return refuse(Verdict{Type: "application/x-empty"}, ReasonEmpty, "empty file")
	}
	mt := mimetype.Detect(head)
	t, _, _ := strings.Cut(mt.String(), ";")
	if t == "image/vnd.mozilla.apng" {
		// Animated PNG is PNG to browsers and to the checks below.
		t = "image/png"
	}
	v := Verdict{Type: t}
	// Executables first: whatever else they look like, they are refused.
	if kind := executableMagic(head); kind != "" {
		return refuse(v, ReasonExecutable, "%s", kind)
	}
	if never(t) {
		if t == "text/html" || t == "application/xhtml+xml" {
			return refuse(v, ReasonHTML, "content is HTML")
		}
		return refuse(v, ReasonExecutable, "content is %s", t)
	}
	if isArchive(mt) {
		if !slices.Contains(archiveExts, ext) && !slices.Contains(extensionsOf(t), ext) {
			return refuse(v, ReasonDisguisedArchive, "%s named %q", t, ext)
		}
		if slices.Contains(archiveTypes, t) && !slices.Contains(archiveExts, ext) {
			// A plain archive claiming a document extension: an OOXML or ODF
			// file would have been detected by its structure.
			return refuse(v, ReasonDisguisedArchive, "%s named %q", t, ext)
		}
	}
	switch t {
	case "image/svg+xml":
		if reason, msg := checkMarkup(br, true); reason != "" {
			return refuse(v, reason, "%s", msg)
		}
	case "text/xml", "application/xml":
		if reason, msg := checkMarkup(br, false); reason != "" {
			return refuse(v, reason, "%s", msg)
		}
	default:
		// Structure first for the formats we parse: it names the precise
		// problem (data after the end marker, markup in a text chunk).
		if reason, msg := checkStructure(t, br); reason != "" {
			return refuse(v, reason, "%s", msg)
		}
		if tag := findHTML(head); tag != "" {
			return refuse(v, ReasonPolyglot, "%s content contains %q in its first bytes", t, tag)
		}
	}
	if !policy.allows(t) {
		return refuse(v, ReasonNotAllowed, "type %s is not allowed", t)
	}
	exts := extensionsOf(t)
	if !slices.Contains(exts, ext) {
		return refuse(v, ReasonTypeMismatch, "%s content named %q", t, ext)
	}
	v.Ext = exts[0]
	if strings.HasPrefix(t, "image/") && t != "image/svg+xml" {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(head))
		if err != nil {
			return refuse(v, ReasonCorrupt, "image header: %v", err)
		}
		v.Width, v.Height = cfg.Width, cfg.Height
		if mp := policy.maxPixels(); int64(cfg.Width)*int64(cfg.Height) > mp {
			return refuse(v, ReasonPixelBomb, "%dx%d pixels exceeds %d", cfg.Width, cfg.Height, mp)
		}
	}
	v.Allowed = true
	return v
}

func checkStructure(t string, br *bufio.Reader) (string, string) {
	switch t {
	case "image/png":
		return checkPNG(br)
	case "image/jpeg":
		return checkJPEG(br)
	case "image/gif":
		return checkGIF(br)
	case "image/webp":
		return checkWebP(br)
	}
	return "", ""
}

func isArchive(mt *mimetype.MIME) bool {
	for m := mt; m != nil; m = m.Parent() {
		if slices.Contains(archiveTypes, m.String()) {
			return true
		}
	}
	return false
}

// executableMagic names the executable format head starts with, or "".
func executableMagic(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF executable"
	case bytes.HasPrefix(head, []byte("MZ")):
		return "PE/DOS executable"
	case bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.HasPrefix(head, []byte{0xfe, 0xed, 0xfa, 0xcf}),
		bytes.HasPrefix(head, []byte{0xce, 0xfa, 0xed, 0xfe}), bytes.HasPrefix(head, []byte{0xcf, 0xfa, 0xed, 0xfe}):
		return "Mach-O executable"
	case bytes.HasPrefix(head, []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "Mach-O universal binary or Java class"
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return "WebAssembly module"
	case bytes.HasPrefix(head, []byte("#!")):
		return "script with a shebang"
	}
	return ""
}

// htmlTags are the markup openings that make a browser that sniffs treat
// bytes as HTML (or that only make sense in HTML).
var htmlTags = []string{"<!doctype", "<html", "<head", "<body", "<script", "<iframe", "<svg", "<object",
	"<embed", "<meta", "<style", "<form", "<img", "<link", "<base", "<a ", "<?php", "<frameset", "<title"}

// findHTML returns the first HTML tag opening found in b (ASCII
// case-insensitive, followed by a delimiter), or "".
func findHTML(b []byte) string {
	for i := 0; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return ""
		}
		i += j
		rest := b[i:]
		for _, tag := range htmlTags {
			if len(rest) < len(tag) || !asciiEqualFold(rest[:len(tag)], tag) {
				continue
			}
			if tag[len(tag)-1] == ' ' || len(rest) == len(tag) {
				return tag
			}
			switch rest[len(tag)] {
			case ' ', '\t', '\n', '\r', '\f', '>', '/':
				return tag
			}
		}
	}
	return ""
}

func asciiEqualFold(b []byte, s string) bool {
	for i := 0; i < len(s); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
