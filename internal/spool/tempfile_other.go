//go:build !linux

package spool

import "os"

// tempFile returns a new file in dir (empty: os.TempDir()) unlinked as
// soon as it is created.
func tempFile(dir string) (*os.File, error) { return unlinkedFile(dir) }
