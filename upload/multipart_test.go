package upload_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

const ct = "multipart/form-data; boundary=XyZ"

func field(name, value string) string {
	return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n"
}

func filePart(name, filename, content string) string {
	return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + filename + "\"\r\nContent-Type: image/png\r\n\r\n" + content + "\r\n"
}

const end = "--XyZ--\r\n"

func small() limits.Limits {
	l := limits.Default()
	l.MaxFields, l.MaxFiles, l.MaxFormBytes, l.MaxFileBytes, l.FileMemoryThreshold = 5, 3, 100, 1000, 10
	return l
}

// emptyDir fails unless dir has no entries left.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Fatalf("%d entries left in the temporary directory", len(ents))
	}
}

func TestReadForm(t *testing.T) {
	many := func(n int, part func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(part(i))
		}
		return b.String() + end
	}
	for _, tc := range []struct {
		name   string
		ct     string
		body   string
		want   error
		fields int
		files  int
	}{
		{"fields and files", ct, field("a", "1") + field("a", "2") + filePart("f", "x.png", "hello world, spooled") + filePart("g", "y.png", "tiny") + end, nil, 2, 2},
		{"preamble and epilogue", ct, "preamble\r\n" + field("a", "1") + end + "epilogue", nil, 1, 0},
		{"padding after boundary", ct, "--XyZ \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n" + end, nil, 1, 0},
		{"no headers", ct, "--XyZ\r\n\r\nraw\r\n" + end, nil, 0, 0},
		{"base64 file", ct, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n" + end, nil, 0, 1},
		{"empty filename is a field", ct, filePart("f", "", "v") + end, nil, 1, 0},
		{"name sanitising to nothing is dropped", ct, filePart("f", "../", "v") + end, nil, 0, 0},
		// Attacks.
		{"10000 tiny field parts", ct, many(10000, func(int) string { return field("a", "") }), limits.ErrTooManyFields, 0, 0},
		{"10000 tiny file parts", ct, many(10000, func(i int) string { return filePart("f", fmt.Sprint(i, ".png"), "") }), limits.ErrTooManyFiles, 0, 0},
		{"10000 nameless parts", ct, many(10000, func(int) string { return "--XyZ\r\n\r\n\r\n" }), limits.ErrTooManyFields, 0, 0},
		{"1 MB part header", ct, "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Pad: " + strings.Repeat("a", 1<<20) + "\r\n\r\nv\r\n" + end, limits.ErrHeaderTooLarge, 0, 0},
		{"field data over the cap", ct, field("a", strings.Repeat("v", 99)) + end, limits.ErrDataTooBig, 0, 0},
		{"file over the cap", ct, filePart("f", "a.png", strings.Repeat("v", 1001)) + end, limits.ErrFileTooLarge, 0, 0},
		{"truncated body", ct, field("a", "1") + "--XyZ\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nabc", upload.ErrMalformed, 0, 0},
		{"truncated header", ct, "--XyZ\r\nContent-Disposition: form-data", upload.ErrMalformed, 0, 0},
		{"no closing delimiter", ct, field("a", "1"), upload.ErrMalformed, 0, 0},
		{"garbage after boundary", ct, "--XyZgarbage\r\n\r\n" + end, upload.ErrMalformed, 0, 0},
		{"invalid base64", ct, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n" + end, upload.ErrMalformed, 0, 0},
		{"truncated base64", ct, "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8\r\n" + end, upload.ErrMalformed, 0, 0},
		{"not multipart", "application/x-www-form-urlencoded", "a=1", upload.ErrMalformed, 0, 0},
		{"boundary too long", "multipart/form-data; boundary=" + strings.Repeat("b", 202), end, upload.ErrMalformed, 0, 0},
		{"boundary ends with space", `multipart/form-data; boundary="XyZ "`, end, upload.ErrMalformed, 0, 0},
		{"boundary missing", "multipart/form-data", end, upload.ErrMalformed, 0, 0},
		{"non-ASCII content type", "multipart/form-data; boundary=é", end, upload.ErrMalformed, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			form, err := upload.ReadForm(strings.NewReader(tc.body), tc.ct, small(), dir)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				if form != nil {
					t.Fatal("form returned with an error")
				}
				emptyDir(t, dir)
				return
			}
			nf := 0
			for _, v := range form.Value {
				nf += len(v)
			}
			nfiles := 0
			for _, v := range form.File {
				nfiles += len(v)
			}
			if nf != tc.fields || nfiles != tc.files {
				t.Errorf("%d fields, %d files; want %d, %d", nf, nfiles, tc.fields, tc.files)
			}
			if err := form.RemoveAll(); err != nil {
				t.Fatal(err)
			}
			emptyDir(t, dir)
		})
	}
}

func TestReadFormSpools(t *testing.T) {
	dir := t.TempDir()
	body := filePart("f", "big.png", strings.Repeat("x", 500)) + filePart("g", "small.png", "abc") + end
	l := small()
	l.FileMemoryThreshold = 100
	form, err := upload.ReadForm(strings.NewReader(body), ct, l, dir)
	if err != nil {
		t.Fatal(err)
	}
	big, sm := form.File["f"][0], form.File["g"][0]
	if big.InMemory() || !sm.InMemory() || big.Size != 500 || sm.Size != 3 {
		t.Fatalf("big in memory %v size %d; small in memory %v size %d", big.InMemory(), big.Size, sm.InMemory(), sm.Size)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("%d temporary directories, want 1", len(ents))
	}
	fi, _ := os.Stat(dir + "/" + ents[0].Name())
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("temporary directory mode %v, want 0700", fi.Mode().Perm())
	}
	spooled, _ := os.ReadDir(dir + "/" + ents[0].Name())
	for _, s := range spooled {
		i, _ := s.Info()
		if i.Mode().Perm() != 0o600 {
			t.Errorf("spooled file mode %v, want 0600", i.Mode().Perm())
		}
	}
	rc, _ := big.Open()
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != strings.Repeat("x", 500) {
		t.Error("spooled content differs")
	}
	form.RemoveAll()
	emptyDir(t, dir)
}

// panicReader panics after delivering its data, as a broken body might.
type panicReader struct{ r io.Reader }

func (p *panicReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err == io.EOF {
		panic("body exploded")
	}
	return n, err
}

func TestReadFormCleansUpOnPanic(t *testing.T) {
	dir := t.TempDir()
	body := filePart("f", "big.png", strings.Repeat("x", 500)) + filePart("g", "b.png", "abc")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		l := small()
		upload.ReadForm(&panicReader{strings.NewReader(body)}, ct, l, dir)
	}()
	emptyDir(t, dir)
}

func TestReadFormCleansUpOnError(t *testing.T) {
	dir := t.TempDir()
	// A spooled file, then one file too many.
	body := filePart("f", "a.png", strings.Repeat("x", 500)) + filePart("f", "b.png", "1") + filePart("f", "c.png", "2") + filePart("f", "d.png", "3") + end
	if _, err := upload.ReadForm(strings.NewReader(body), ct, small(), dir); !errors.Is(err, limits.ErrTooManyFiles) {
		t.Fatalf("err = %v", err)
	}
	emptyDir(t, dir)
}

// trickle delivers one byte per Read.
type trickle struct{ r io.Reader }

func (s trickle) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return s.r.Read(p)
}

func TestSlowBodyUnderCap(t *testing.T) {
	before := runtime.NumGoroutine()
	body := field("a", "1") + filePart("f", "a.png", strings.Repeat("x", 5000)) + end
	rc := limits.NewReader(io.NopCloser(trickle{strings.NewReader(body)}), 1000)
	_, err := upload.ReadForm(rc, ct, small(), t.TempDir())
	if !errors.Is(err, limits.ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d -> %d", before, after)
	}
}

func TestPartHeaderMemory(t *testing.T) {
	// The header guard must trip without reading the whole header: with
	// 64 MiB of header the reader sees at most its buffer.
	hdr := io.MultiReader(strings.NewReader("--XyZ\r\nX-Pad: "), io.LimitReader(repeatReader('a'), 64<<20))
	cr := &countingReader{r: hdr}
	_, err := upload.ReadForm(cr, ct, small(), t.TempDir())
	if !errors.Is(err, limits.ErrHeaderTooLarge) {
		t.Fatalf("err = %v", err)
	}
	if cr.n > 128<<10 {
		t.Errorf("read %d bytes to refuse a header", cr.n)
	}
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestBoundaryInContentPrefix(t *testing.T) {
	// Content holding a prefix of the delimiter across buffer edges.
	content := strings.Repeat("a", 64<<10-3) + "\r\n--X" + strings.Repeat("b", 100)
	body := filePart("f", "a.png", content) + end
	l := small()
	l.MaxFileBytes = 1 << 20
	form, err := upload.ReadForm(strings.NewReader(body), ct, l, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer form.RemoveAll()
	rc, _ := form.File["f"][0].Open()
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, []byte(content)) {
		t.Fatalf("content differs: %d bytes, want %d", len(got), len(content))
	}
}

func TestReadFormTotalCap(t *testing.T) {
	// Without the limits Handler in front, ReadForm still caps the body.
	l := small()
	l.MaxBodyBytes, l.MaxFileBytes, l.MaxFiles = 1000, 900, 100
	body := strings.Repeat(filePart("f", "a.png", strings.Repeat("x", 500)), 3) + end
	dir := t.TempDir()
	if _, err := upload.ReadForm(strings.NewReader(body), ct, l, dir); !errors.Is(err, limits.ErrBodyTooLarge) {
		t.Fatalf("err = %v, want ErrBodyTooLarge", err)
	}
	emptyDir(t, dir)
}

func TestDuplicateDisposition(t *testing.T) {
	body := "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=\"b\"; filename=\"x.png\"\r\n\r\nv\r\n" + end
	if _, err := upload.ReadForm(strings.NewReader(body), ct, small(), t.TempDir()); !errors.Is(err, upload.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

func TestRFC2231Charsets(t *testing.T) {
	for _, tc := range []struct{ disp, want string }{
		{`form-data; name="f"; filename*=UTF-8''caf%C3%A9.txt`, "café.txt"},
		{`form-data; name="f"; filename*=iso-8859-1''caf%E9.txt`, "café.txt"},
		{`form-data; name="f"; filename*="utf-8'en'%E2%80%AEgnp.exe"`, "gnp.exe"}, // U+202E removed
		{`form-data; name="f"; filename="plain.txt"; filename*=UTF-8''ext.txt`, "ext.txt"},
		{`form-data; name="f"; filename*=UTF-8''bad%ZZ.txt`, "bad%ZZ.txt"},
	} {
		files, err := filesOf(t, tc.disp)
		if err != nil {
			t.Errorf("%s: %v", tc.disp, err)
			continue
		}
		if names := names(files["f"]); len(names) != 1 || names[0] != tc.want {
			t.Errorf("%s: %v, want %q", tc.disp, names, tc.want)
		}
	}
	if _, err := filesOf(t, `form-data; name="f"; filename*=x-unknown''a.txt`); !errors.Is(err, upload.ErrMalformed) {
		t.Errorf("unknown charset: %v", err)
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
	_, err = inspect.File(p, "a.png", inspect.Policy{})
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
