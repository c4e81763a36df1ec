package upload

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// The storage permissions when StorageConfig leaves them zero.
const (
	defaultFilePerm fs.FileMode = 0o644
	defaultDirPerm  fs.FileMode = 0o755
)

// StorageConfig configures a Storage.
type StorageConfig struct {
	// Dir is the directory files are stored in (MEDIA_ROOT). Empty means
	// no storage.
	Dir string `toml:"dir"`
	// FilePermissions is the mode of stored files, applied with chmod so
	// the umask does not change it (FILE_UPLOAD_PERMISSIONS). Zero means
	// 0644.
	FilePermissions fs.FileMode `toml:"file_permissions"`
	// DirectoryPermissions is the mode of the directories Storage creates
	// (FILE_UPLOAD_DIRECTORY_PERMISSIONS). Zero means 0755.
	DirectoryPermissions fs.FileMode `toml:"directory_permissions"`
}

func (c StorageConfig) validate() error {
	if c.FilePermissions&^fs.ModePerm != 0 || c.DirectoryPermissions&^fs.ModePerm != 0 {
		return fmt.Errorf("%w: storage permissions must be plain permission bits", ErrConfig)
	}
	if c.FilePermissions&0o111 != 0 {
		// Stored uploads are data; an executable bit invites a server
		// that runs what it serves.
		return fmt.Errorf("%w: file_permissions %#o include an execute bit", ErrConfig, c.FilePermissions)
	}
	return nil
}

// Storage stores accepted files under names it generates: a random id
// plus the extension of the type detected from content. Client names are
// kept only as metadata (a sidecar, see media.WriteSidecar). All access
// goes through an os.Root, and files are created exclusively.
type Storage struct {
	root     *os.Root
	filePerm fs.FileMode
	dirPerm  fs.FileMode
}

// NewStorage opens c.Dir.
func NewStorage(c StorageConfig) (*Storage, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Dir == "" {
		return nil, errors.New("upload: storage dir is required")
	}
	root, err := os.OpenRoot(c.Dir)
	if err != nil {
		return nil, fmt.Errorf("upload: %w", err)
	}
	s := &Storage{root: root, filePerm: c.FilePermissions, dirPerm: c.DirectoryPermissions}
	if s.filePerm == 0 {
		s.filePerm = defaultFilePerm
	}
	if s.dirPerm == 0 {
		s.dirPerm = defaultDirPerm
	}
	return s, nil
}

// Close releases the storage root.
func (s *Storage) Close() error { return s.root.Close() }

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ErrNotInspected is returned by Save for a file without an accepting
// Verdict.
var ErrNotInspected = errors.New("upload: file was not accepted by inspection")

// Save stores f and returns its storage name ("ab/abcdef....png"),
// relative to the storage root. f must carry an accepting Verdict.
func (s *Storage) Save(f *File) (string, error) {
	if !f.Verdict.Allowed || f.Verdict.Ext == "" {
		return "", ErrNotInspected
	}
	src, err := f.Open()
	if err != nil {
		return "", err
	}
	defer src.Close()
	return s.SaveReader(src, f.Verdict, f.Filename)
}

// SaveReader stores the content of r, already judged by v, under a
// generated name, with display as the client's name in its sidecar.
func (s *Storage) SaveReader(r io.Reader, v inspect.Verdict, display string) (string, error) {
	if !v.Allowed || v.Ext == "" || strings.ContainsAny(v.Ext, `/\`) {
		return "", ErrNotInspected
	}
	var id [20]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	base := idEncoding.EncodeToString(id[:])
	dir := base[:2]
	name := dir + "/" + base + v.Ext
	if err := s.root.Mkdir(dir, s.dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	} else if err == nil {
		if err := s.root.Chmod(dir, s.dirPerm); err != nil {
			return "", err
		}
	}
	out, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = media.WriteSidecar(s.root, name, media.Meta{Type: v.Type, Filename: display}, 0o600)
	}
	if err == nil {
		// Readable only once complete: a concurrent reader never sees a
		// half-written file with its final permissions.
		err = s.root.Chmod(name, s.filePerm)
	}
	if err != nil {
		s.root.Remove(name)
		s.root.Remove(media.SidecarName(name))
		return "", err
	}
	return name, nil
}
