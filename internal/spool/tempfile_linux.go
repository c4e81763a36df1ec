package spool

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tempFile returns a new file in dir (empty: os.TempDir()) that has no
// name: O_TMPFILE, or, on file systems without it, a file unlinked as
// soon as it is created.
func tempFile(dir string) (*os.File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), dir+"/(spooled body)"), nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EINVAL) {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return unlinkedFile(dir)
}
