package spool

import "os"

// unlinkedFile creates a file (0600) in dir and removes its name at once:
// the open descriptor is the only way to it.
func unlinkedFile(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "bulwark-body-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
