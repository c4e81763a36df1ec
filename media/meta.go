package media

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Meta is what the application recorded about a stored file when it
// accepted it: the type decided by content (never the client's claim) and
// the client's display name.
type Meta struct {
	// Type is the MIME type decided at upload (for example by
	// upload/inspect.File). Empty means unknown: served as
	// application/octet-stream, as an attachment.
	Type string `json:"type"`
	// Filename is the display name offered in Content-Disposition. It may
	// hold any printable Unicode; it is encoded, never used as a path.
	Filename string `json:"filename,omitempty"`
}

// Lookup returns the stored metadata of a file, by its name relative to
// the media root. ErrNoMeta (or any error) makes the file be served as an
// opaque attachment.
type Lookup interface {
	Lookup(ctx context.Context, name string) (Meta, error)
}

// ErrNoMeta reports that a file has no metadata.
var ErrNoMeta = errors.New("media: no metadata")

// maxSidecar bounds a sidecar file.
const maxSidecar = 16 << 10

// SidecarName is where the sidecar metadata of name is kept: a dotfile
// beside it ("dir/.name.meta"), so the media handler, which never serves
// dotfiles, cannot be made to serve it.
func SidecarName(name string) string {
	dir, file := path.Split(name)
	return dir + "." + file + ".meta"
}

// WriteSidecar records m for name under root, creating the sidecar
// exclusively with mode perm.
func WriteSidecar(root *os.Root, name string, m Meta, perm fs.FileMode) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	f, err := root.OpenFile(SidecarName(name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sidecars is the default Lookup: sidecar files in the media root.
type sidecars struct{ root *os.Root }

func (s sidecars) Lookup(_ context.Context, name string) (Meta, error) {
	return ReadSidecar(s.root, name)
}

// ReadSidecar reads the sidecar metadata of name under root (see
// WriteSidecar): ErrNoMeta when there is none; an error for a sidecar
// larger than 16 KiB or that does not parse. The type is lower-cased.
func ReadSidecar(root *os.Root, name string) (Meta, error) {
	f, err := root.Open(SidecarName(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Meta{}, ErrNoMeta
		}
		return Meta{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSidecar+1))
	if err != nil {
		return Meta{}, err
	}
	if len(b) > maxSidecar {
		return Meta{}, errors.New("media: sidecar too large")
	}
	var m Meta
	if err := json.Unmarshal(b, &m); err != nil {
		return Meta{}, err
	}
	m.Type = strings.ToLower(strings.TrimSpace(m.Type))
	return m, nil
}
