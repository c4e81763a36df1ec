package upload

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"mime/multipart"
	"os"
	"path/filepath"

	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Form is a parsed multipart form. Files larger than the memory threshold
// live in a private temporary directory until RemoveAll.
type Form struct {
	// Value holds the non-file fields, in order of appearance per name.
	Value map[string][]string
	// File holds the file parts with a usable name (parts whose filename
	// sanitises to nothing are dropped, as Django drops them).
	File map[string][]*File

	dir     string
	tempDir string
}

// File is one uploaded file.
type File struct {
	// Field is the form field name.
	Field string
	// Filename is the client's name reduced to a display label (see
	// DisplayName). Never use it as a path.
	Filename string
	// ClientType is the Content-Type the client claimed. Untrusted: inspection
	// decides by content.
	ClientType string
	// Size is the number of content bytes.
	Size int64
	// Verdict is set by Uploader.Parse after inspection.
	Verdict inspect.Verdict

	mem  []byte
	path string
}

// Open opens the file's content: an *os.File, or a reader over the bytes
// held in memory, as mime/multipart's FileHeader.Open returns.
func (f *File) Open() (multipart.File, error) {
	if f.path == "" {
		return nopCloser{bytes.NewReader(f.mem)}, nil
	}
	return os.Open(f.path)
}

// InMemory reports whether the file's content is held in memory.
func (f *File) InMemory() bool { return f.path == "" }

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// RemoveAll removes the form's temporary files. It is safe to call more
// than once and on a nil Form.
func (f *Form) RemoveAll() error {
	if f == nil || f.dir == "" {
		return nil
	}
	err := os.RemoveAll(f.dir)
	f.dir = ""
	return err
}

// ReadForm reads a whole multipart body under lim: at most MaxBodyBytes
// in total, fields in memory (at
// most MaxFormBytes, counted as Django counts them), files in memory while
// all in-memory files together stay within FileMemoryThreshold, larger
// ones spooled to files (mode 0600) in a new private directory (mode 0700)
// under tempDir ("" means os.TempDir()). On any error, and if it panics,
// everything it wrote is removed before it returns.
func ReadForm(body io.Reader, contentType string, lim limits.Limits, tempDir string) (form *Form, err error) {
	// The total cap applies even without the limits Handler in front (a
	// second cap under the Handler's is harmless).
	body = limits.NewReader(io.NopCloser(body), lim.MaxBodyBytes)
	mr, err := NewReader(body, contentType, lim)
	if err != nil {
		return nil, err
	}
	form = &Form{Value: map[string][]string{}, File: map[string][]*File{}, tempDir: tempDir}
	cleanup := form
	defer func() {
		// Runs on error returns and while panicking: a refused or broken
		// upload never leaves files behind.
		if v := recover(); v != nil {
			cleanup.RemoveAll()
			panic(v)
		}
		if err != nil {
			cleanup.RemoveAll()
		}
	}()
	var formBytes int64
	memLeft := lim.FileMemoryThreshold
	buf := make([]byte, 32<<10)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, err
		}
		if !p.IsFile() {
			if p.Name == "" {
				continue // a part without a name is skipped (Django: RAW)
			}
			// Read at most what the remaining budget allows, plus one byte
			// to detect the overflow.
			var rd io.Reader = p
			if lim.MaxFormBytes >= 0 {
				rd = io.LimitReader(p, lim.MaxFormBytes-formBytes+1)
			}
			v, err := io.ReadAll(rd)
			if err != nil {
				return nil, err
			}
			formBytes += int64(len(v)) + int64(len(p.Name)) + 2
			if lim.MaxFormBytes >= 0 && formBytes > lim.MaxFormBytes {
				return nil, &limits.Error{Kind: limits.ErrDataTooBig, Limit: limits.KeyForm, Value: lim.MaxFormBytes}
			}
			form.Value[p.Name] = append(form.Value[p.Name], string(v))
			continue
		}
		name, ok := DisplayName(p.RawFilename)
		if !ok || p.Name == "" {
			continue // Django drops parts whose name sanitises to nothing
		}
		f := &File{Field: p.Name, Filename: name, ClientType: p.ContentType}
		if err := form.spool(f, p, &memLeft, buf); err != nil {
			return nil, err
		}
		form.File[p.Name] = append(form.File[p.Name], f)
	}
}

// spool stores one file: in memory while it fits in what is left of the
// memory threshold, else in a temporary file.
func (form *Form) spool(f *File, p *Part, memLeft *int64, buf []byte) error {
	var mem bytes.Buffer
	n, err := io.CopyBuffer(&mem, io.LimitReader(p, *memLeft+1), buf)
	if err != nil {
		return err
	}
	if n <= *memLeft {
		*memLeft -= n
		f.mem, f.Size = mem.Bytes(), n
		return nil
	}
	fh, path, err := form.tempFile()
	if err != nil {
		return err
	}
	f.path = path
	w, err := fh.Write(mem.Bytes())
	total := int64(w)
	if err == nil {
		var m int64
		m, err = io.CopyBuffer(fh, p, buf)
		total += m
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	f.Size = total
	return err
}

// tempFile creates a new file (0600) in the form's private directory
// (0700), creating the directory on first use.
func (form *Form) tempFile() (*os.File, string, error) {
	if form.dir == "" {
		d, err := os.MkdirTemp(form.tempDir, "bulwark-upload-")
		if err != nil {
			return nil, "", err
		}
		form.dir = d
	}
	var id [12]byte
	rand.Read(id[:])
	path := filepath.Join(form.dir, hex.EncodeToString(id[:]))
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", err
	}
	return fh, path, nil
}

// reencode replaces f's content with its re-encoding (see Reencode).
func (form *Form) reencode(f *File) error {
	src, err := f.Open()
	if err != nil {
		return err
	}
	defer src.Close()
	fh, path, err := form.tempFile()
	if err != nil {
		return err
	}
	err = inspect.Reencode(fh, src, f.Verdict.Type)
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if f.path != "" {
		os.Remove(f.path)
	}
	f.mem, f.path, f.Size = nil, path, fi.Size()
	f.Verdict.Size = fi.Size()
	return nil
}
