package upload

import (
	"bytes"
	"io"
	"os"
)

// rawSpool keeps a copy of a request body: in memory up to mem bytes, then
// in a file (0600) in a private directory (0700) under dir.
type rawSpool struct {
	dir  string
	mem  int64
	buf  bytes.Buffer
	tmp  string
	file *os.File
	n    int64
}

func (s *rawSpool) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if s.file == nil && int64(s.buf.Len()+len(p)) <= s.mem {
		return s.buf.Write(p)
	}
	if s.file == nil {
		d, err := os.MkdirTemp(s.dir, "bulwark-body-")
		if err != nil {
			return 0, err
		}
		s.tmp = d
		f, err := os.OpenFile(d+"/body", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return 0, err
		}
		s.file = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, err
		}
		s.buf = bytes.Buffer{}
	}
	return s.file.Write(p)
}

// reader returns the spooled body from its start, and its size.
func (s *rawSpool) reader() (io.ReadCloser, int64, error) {
	if s.file == nil {
		return io.NopCloser(bytes.NewReader(s.buf.Bytes())), s.n, nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, 0, err
	}
	return io.NopCloser(s.file), s.n, nil
}

func (s *rawSpool) remove() {
	if s.file != nil {
		s.file.Close()
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
	}
}
