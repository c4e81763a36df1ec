package upload

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/percent"
	"github.com/bulwarkdev/bulwark/limits"
	"golang.org/x/text/encoding/htmlindex"
)

// ErrMalformed is wrapped by every error about a body that is not
// well-formed multipart (Django's MultiPartParserError, 400).
var ErrMalformed = errors.New("upload: malformed multipart body")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// bufSize is the read buffer of the multipart reader; part header blocks
// are examined within it, so it bounds them even when the header limit is
// disabled.
const bufSize = 64 << 10

// Boundary returns the boundary of a multipart Content-Type, with Django's
// guards: the type must be ASCII and start with "multipart/", and the
// boundary must match [ -~]{0,200}[!-~].
func Boundary(contentType string) (string, error) {
	for i := 0; i < len(contentType); i++ {
		if contentType[i] >= 0x80 {
			return "", malformed("content type is not ASCII")
		}
	}
	if !strings.HasPrefix(strings.ToLower(contentType), "multipart/") {
		return "", malformed("content type %q is not multipart", contentType)
	}
	_, params, err := parseHeaderParams(contentType)
	if err != nil {
		return "", err
	}
	b, ok := params["boundary"]
	if !ok || !validBoundary(b) {
		return "", malformed("invalid boundary %q", b)
	}
	return b, nil
}

func validBoundary(b string) bool {
	if len(b) == 0 || len(b) > 201 {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] < ' ' || b[i] > '~' {
			return false
		}
	}
	return b[len(b)-1] != ' '
}

// maxHeaderParams is Django's MAX_HEADER_LENGTH for parse_header_parameters.
const maxHeaderParams = 10000

// parseHeaderParams is Django's parse_header_parameters: the value before
// the first ";" (lower-cased) and the parameters, with quoted values
// unescaping only \\ and \", and RFC 2231 name*=charset'lang'value
// parameters percent-decoded (quoted or not), overriding the plain ones.
func parseHeaderParams(line string) (string, map[string]string, error) {
	if len(line) > maxHeaderParams {
		return "", nil, malformed("header parameters too long")
	}
	segs := splitParams(line)
	key := strings.ToLower(segs[0])
	params := map[string]string{}
	for _, p := range segs[1:] {
		i := strings.IndexByte(p, '=')
		if i < 0 {
			continue
		}
		name := strings.ToLower(strings.TrimSpace(p[:i]))
		encoded := false
		if strings.HasSuffix(name, "*") {
			name = name[:len(name)-1]
			encoded = strings.Count(p, "'") == 2
		}
		value := strings.TrimSpace(p[i+1:])
		if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
			value = value[1 : len(value)-1]
			value = strings.ReplaceAll(value, `\\`, `\`)
			value = strings.ReplaceAll(value, `\"`, `"`)
		}
		if encoded {
			parts := strings.SplitN(value, "'", 3)
			if len(parts) != 3 {
				return "", nil, malformed("bad extended parameter")
			}
			v, err := decodeExtended(parts[0], parts[2])
			if err != nil {
				return "", nil, err
			}
			value = v
		}
		params[name] = value
	}
	return key, params, nil
}

// splitParams is Django's _parseparam: split on ";" outside quotes.
func splitParams(line string) []string {
	var out []string
	s := ";" + line
	for strings.HasPrefix(s, ";") {
		s = s[1:]
		end := strings.IndexByte(s, ';')
		for end > 0 && (strings.Count(s[:end], `"`)-strings.Count(s[:end], `\"`))%2 == 1 {
			next := strings.IndexByte(s[end+1:], ';')
			if next < 0 {
				end = -1
				break
			}
			end += 1 + next
		}
		if end < 0 {
			end = len(s)
		}
		out = append(out, strings.TrimSpace(s[:end]))
		s = s[end:]
	}
	return out
}

// decodeExtended percent-decodes an RFC 2231 value in its charset, as
// Django's unquote(value, encoding=charset) with errors="replace". An
// unknown charset is malformed (Django fails with a server error).
func decodeExtended(charset, value string) (string, error) {
	cs := strings.ToLower(strings.TrimSpace(charset))
	switch cs {
	case "utf-8", "utf8", "us-ascii", "ascii", "":
		return pctDecode(value), nil
	case "latin-1", "latin1", "l1":
		cs = "iso-8859-1"
	}
	enc, err := htmlindex.Get(cs)
	if err != nil || enc == nil {
		return "", malformed("unsupported charset %q", charset)
	}
	raw, err := url.PathUnescape(value)
	if err != nil {
		raw = percent.Decode(value, false)
	}
	out, err := enc.NewDecoder().String(raw)
	if err != nil {
		return "", malformed("undecodable %s value", charset)
	}
	return strings.ToValidUTF8(out, "\uFFFD"), nil
}

// pctDecode is Python's urllib.parse.unquote with errors="replace".
func pctDecode(s string) string {
	if v, err := url.PathUnescape(s); err == nil {
		return strings.ToValidUTF8(v, "\uFFFD")
	}
	return strings.ToValidUTF8(percent.Decode(s, false), "\uFFFD")
}

// Reader reads a multipart body part by part, streaming, under one set of
// limits: the part count (MaxFields for non-file parts, MaxFiles for file
// parts), each part's header block (MaxPartHeaderBytes), field data
// (MaxFormBytes, counted as Django counts it) and each file's bytes
// (MaxFileBytes). It never holds more than its buffer and one part's
// header block in memory.
type Reader struct {
	br       *bufio.Reader
	lim      limits.Limits
	dash     []byte // "--" + boundary
	nlDash   []byte // "\r\n--" + boundary
	started  bool
	done     bool
	cur      *Part
	fields   int
	files    int
	err      error
	hdrLimit int
}

// NewReader returns a Reader for body with the given Content-Type.
func NewReader(body io.Reader, contentType string, lim limits.Limits) (*Reader, error) {
	b, err := Boundary(contentType)
	if err != nil {
		return nil, err
	}
	hl := lim.MaxPartHeaderBytes
	if hl < 0 || hl > bufSize {
		hl = bufSize
	}
	return &Reader{
		br:       bufio.NewReaderSize(body, bufSize),
		lim:      lim,
		dash:     []byte("--" + b),
		nlDash:   []byte("\r\n--" + b),
		hdrLimit: hl,
	}, nil
}

// Part is one part of a multipart body. Read returns its decoded content.
type Part struct {
	// Header holds the part's headers, keys lower-cased.
	Header map[string]string
	// Name is the form field name (RFC 2231 decoded).
	Name string
	// RawFilename is the client's filename parameter as sent (decoded from
	// RFC 2231, not sanitised). Non-empty exactly for file parts.
	RawFilename string
	// ContentType is the client's claimed Content-Type: untrusted.
	ContentType string

	r       *Reader
	rawBody *bodyReader
	body    io.Reader
	n       int64
	max     int64
	maxErr  error
	err     error
}

// IsFile reports whether the part is a file part: a non-empty filename
// parameter, as Django decides.
func (p *Part) IsFile() bool { return p.RawFilename != "" }

// Read reads the part's content, base64-decoded when the part says so.
// Once the per-file cap is exceeded every call fails with the same error.
func (p *Part) Read(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	if p.max >= 0 && int64(len(b)) > p.max-p.n+1 {
		b = b[:p.max-p.n+1]
	}
	n, err := p.body.Read(b)
	if p.max >= 0 && p.n+int64(n) > p.max {
		n = int(p.max - p.n)
		p.n, p.err = p.max, p.maxErr
		return n, p.err
	}
	p.n += int64(n)
	return n, err
}

// NextPart returns the next part, io.EOF after the last one, or an error
// (a *limits.Error for a limit, ErrMalformed for bad syntax). The previous
// part's unread content is discarded.
func (r *Reader) NextPart() (*Part, error) {
	if r.err != nil {
		return nil, r.err
	}
	p, err := r.nextPart()
	if err != nil {
		r.err = err
	}
	return p, err
}

func (r *Reader) nextPart() (*Part, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r.cur.raw()); err != nil {
			return nil, err
		}
		r.cur = nil
	} else if !r.started {
		r.started = true
		// The body may open with the delimiter, or with a preamble
		// (which, like Django, we read and drop).
		pk, _ := r.br.Peek(len(r.dash))
		if bytes.Equal(pk, r.dash) {
			r.br.Discard(len(r.dash))
		} else {
			pre := &bodyReader{r: r}
			if _, err := io.Copy(io.Discard, pre); err != nil {
				return nil, err
			}
		}
	}
	// After a delimiter: "--" ends the body; else optional padding, CRLF.
	pk, err := r.br.Peek(2)
	if err != nil {
		return nil, malformed("truncated after boundary")
	}
	if pk[0] == '-' && pk[1] == '-' {
		r.done = true
		return nil, io.EOF
	}
	for {
		c, err := r.br.ReadByte()
		if err != nil {
			return nil, malformed("truncated after boundary")
		}
		if c == ' ' || c == '\t' {
			continue
		}
		if c == '\r' {
			if c2, err := r.br.ReadByte(); err == nil && c2 == '\n' {
				break
			}
		}
		return nil, malformed("garbage after boundary")
	}
	hdr, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	p := &Part{Header: hdr, r: r, max: -1}
	if cd, ok := hdr["content-disposition"]; ok {
		_, params, err := parseHeaderParams(cd)
		if err != nil {
			return nil, err
		}
		p.Name = strings.TrimSpace(params["name"])
		p.RawFilename = params["filename"]
	}
	p.ContentType = hdr["content-type"]
	if p.IsFile() {
		r.files++
		if r.lim.MaxFiles >= 0 && r.files > r.lim.MaxFiles {
			return nil, &limits.Error{Kind: limits.ErrTooManyFiles, Limit: limits.KeyFiles, Value: int64(r.lim.MaxFiles)}
		}
		p.max = r.lim.MaxFileBytes
		p.maxErr = &limits.Error{Kind: limits.ErrFileTooLarge, Limit: limits.KeyFileBytes, Value: r.lim.MaxFileBytes}
	} else {
		// Django counts every non-file part, named or not.
		r.fields++
		if r.lim.MaxFields >= 0 && r.fields > r.lim.MaxFields {
			return nil, &limits.Error{Kind: limits.ErrTooManyFields, Limit: limits.KeyFields, Value: int64(r.lim.MaxFields)}
		}
	}
	p.rawBody = &bodyReader{r: r}
	var body io.Reader = p.rawBody
	if strings.EqualFold(strings.TrimSpace(hdr["content-transfer-encoding"]), "base64") {
		body = &strictBase64{d: base64.NewDecoder(base64.StdEncoding, &stripSpace{r: body})}
	}
	p.body = body
	r.cur = p
	return p, nil
}

// raw returns the undecoded remainder of the part, for discarding.
func (p *Part) raw() io.Reader { return p.rawBody }

// readHeader reads one header block, refusing blocks (terminator
// included) longer than the limit before reading any further, as Django's
// 1024-byte guard does. Lines are split on CRLF only: a bare LF belongs to
// the value, as in Django (it is removed later with other
// non-printables).
func (r *Reader) readHeader() (map[string]string, error) {
	pk, err := r.br.Peek(r.hdrLimit)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	end := bytes.Index(pk, []byte("\r\n\r\n"))
	if bytes.HasPrefix(pk, []byte("\r\n")) {
		end = -2 // no headers at all
	}
	if end == -1 {
		if len(pk) < r.hdrLimit {
			return nil, malformed("truncated part header")
		}
		return nil, &limits.Error{Kind: limits.ErrHeaderTooLarge, Limit: limits.KeyPartHeader, Value: int64(r.lim.MaxPartHeaderBytes)}
	}
	hdr := map[string]string{}
	if end >= 0 {
		for _, line := range strings.Split(string(pk[:end]), "\r\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k = strings.ToLower(strings.TrimSpace(k))
			if _, dup := hdr[k]; dup && (k == "content-disposition" || k == "content-type" || k == "content-transfer-encoding") {
				// Parsers disagree on which copy wins; a proxy and its
				// upstream must not see different parts.
				return nil, malformed("duplicate %s header", k)
			}
			hdr[k] = strings.TrimSpace(v)
		}
		r.br.Discard(end + 4)
	} else {
		r.br.Discard(2)
	}
	return hdr, nil
}

// bodyReader returns the bytes up to the next "\r\n--boundary" and
// consumes that delimiter.
type bodyReader struct {
	r     *Reader
	eof   bool
	clean int // buffered bytes already known to hold no delimiter
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	r := b.r
	if b.clean > 0 {
		// Scanned before: hand it out without searching again.
		n, _ := r.br.Read(p[:min(len(p), b.clean)])
		b.clean -= n
		return n, nil
	}
	pk, err := r.br.Peek(bufSize)
	if i := bytes.Index(pk, r.nlDash); i >= 0 {
		if i > 0 {
			b.clean = i
			return b.Read(p)
		}
		r.br.Discard(len(r.nlDash))
		b.eof = true
		return 0, io.EOF
	}
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, io.EOF) {
			return 0, malformed("body ends inside a part")
		}
		return 0, err
	}
	// Keep back what could be the start of the delimiter.
	safe := len(pk) - len(r.nlDash) + 1
	if safe <= 0 {
		return 0, malformed("buffer too small")
	}
	b.clean = safe
	return b.Read(p)
}

// stripSpace drops ASCII whitespace from base64 content (line breaks and
// padding spaces are legal there); every other byte goes to the strict
// decoder.
type stripSpace struct{ r io.Reader }

func (s *stripSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

type strictBase64 struct{ d io.Reader }

func (s *strictBase64) Read(p []byte) (int, error) {
	n, err := s.d.Read(p)
	if err != nil && err != io.EOF {
		var ce base64.CorruptInputError
		// The part reader reports a cut body itself; an unexpected EOF
		// here is base64 content not a multiple of four characters.
		if errors.As(err, &ce) || err == io.ErrUnexpectedEOF {
			return n, malformed("invalid base64 content")
		}
	}
	return n, err
}
