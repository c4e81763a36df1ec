package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload"
)

// storedFile is one accepted upload as the page lists it.
type storedFile struct {
	Name   string // the client's name, for display only
	Stored string // the stored name (generated, with the detected extension)
	URL    string // on the media origin
	Type   string // the detected media type
	Size   int64
	Image  bool
	mod    time.Time
}

// mediaStore keeps accepted uploads in the media directory through
// upload.Storage: generated names with the extension of the type detected
// from content, exclusive creation, all access through an os.Root (no
// name, even one built from a bug, can leave the directory or follow a
// symlink out of it), the client's name kept only as sidecar metadata.
// The gateway's media host serves the same directory.
type mediaStore struct {
	st     *upload.Storage
	root   *os.Root
	origin string // media origin, no trailing slash
	mu     sync.Mutex
}

func openMediaStore(dir, origin string) (*mediaStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	st, err := upload.NewStorage(upload.StorageConfig{Dir: dir})
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &mediaStore{st: st, root: root, origin: strings.TrimSuffix(origin, "/")}, nil
}

func (m *mediaStore) Close() error { return errors.Join(m.st.Close(), m.root.Close()) }

// maxStoredFiles bounds the directory: the oldest files are removed past
// it, so a loop of uploads cannot fill the disk.
const maxStoredFiles = 50

// save stores an accepted file and returns its stored name.
func (m *mediaStore) save(f *upload.File) (string, error) {
	name, err := m.st.Save(f)
	if err != nil {
		return "", err
	}
	m.prune()
	return name, nil
}

// list returns the stored files, newest first.
func (m *mediaStore) list() ([]storedFile, error) {
	var files []storedFile
	err := fs.WalkDir(m.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != "." {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil // sidecars and other dotfiles
		}
		if !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		meta := m.meta(p)
		display := meta.Filename
		if display == "" {
			display = path.Base(p)
		}
		files = append(files, storedFile{
			Name: display, Stored: p, URL: m.origin + "/" + p, Type: meta.Type, Size: fi.Size(),
			Image: strings.HasPrefix(meta.Type, "image/"), mod: fi.ModTime(),
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	slices.SortFunc(files, func(a, b storedFile) int { return b.mod.Compare(a.mod) })
	return files, nil
}

// meta reads the sidecar upload.Storage wrote beside a stored file.
func (m *mediaStore) meta(name string) media.Meta {
	var meta media.Meta
	f, err := m.root.Open(media.SidecarName(name))
	if err != nil {
		return meta
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 16<<10))
	if err == nil {
		json.Unmarshal(b, &meta)
	}
	return meta
}

func (m *mediaStore) prune() {
	m.mu.Lock()
	defer m.mu.Unlock()
	files, err := m.list()
	if err != nil || len(files) <= maxStoredFiles {
		return
	}
	for _, f := range files[maxStoredFiles:] {
		m.root.Remove(f.Stored)
		m.root.Remove(media.SidecarName(f.Stored))
	}
}

// guestbook is the shared, in-memory list of messages (newest first),
// bounded so that it cannot grow without limit.
type guestbook struct {
	mu      sync.Mutex
	entries []entry
}

type entry struct {
	When    time.Time
	Who     string
	Message string
}

const maxEntries = 20

func (g *guestbook) add(e entry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.entries = slices.Insert(g.entries, 0, e)
	if len(g.entries) > maxEntries {
		g.entries = g.entries[:maxEntries]
	}
}

func (g *guestbook) list() []entry {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.entries)
}
