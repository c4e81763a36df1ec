package demo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// storedFile is one accepted upload as the page lists it.
type storedFile struct {
	Name  string // the stored name (random, with the detected extension)
	URL   string // on the media origin
	Type  string // the detected media type
	Size  int64
	Image bool
	mod   time.Time
}

// extTypes maps the extensions the demo stores under to their media type,
// for listing. The extension is chosen from the type detected in the
// content, never from the client's file name.
var extTypes = map[string]string{
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
	".pdf":  "application/pdf",
	".txt":  "text/plain",
}

// typeExts is the inverse of extTypes.
var typeExts = func() map[string]string {
	m := make(map[string]string, len(extTypes))
	for e, t := range extTypes {
		m[t] = e
	}
	return m
}()

// mediaStore keeps accepted uploads in a directory through os.Root, so no
// name (even one built from a bug) can leave the directory, follow a
// symlink out of it, or overwrite a file it did not create.
type mediaStore struct {
	root   *os.Root
	origin string // media origin, no trailing slash
	mu     sync.Mutex
}

func openMediaStore(dir, origin string) (*mediaStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &mediaStore{root: root, origin: strings.TrimSuffix(origin, "/")}, nil
}

func (m *mediaStore) Close() error { return m.root.Close() }

// maxStoredFiles bounds the directory: the oldest files are removed past
// it, so a loop of uploads cannot fill the disk.
const maxStoredFiles = 50

// save writes r under a fresh random name with the extension of mediaType
// (O_EXCL: never overwrites) and returns the stored name.
func (m *mediaStore) save(mediaType string, r io.Reader) (string, error) {
	ext, ok := typeExts[mediaType]
	if !ok {
		return "", fmt.Errorf("demo: no extension for type %q", mediaType)
	}
	var b [12]byte
	rand.Read(b[:])
	name := hex.EncodeToString(b[:]) + ext
	f, err := m.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		m.root.Remove(name)
		return "", fmt.Errorf("demo: %w", err)
	}
	if err := f.Close(); err != nil {
		m.root.Remove(name)
		return "", fmt.Errorf("demo: %w", err)
	}
	m.prune()
	return name, nil
}

// list returns the stored files, newest first.
func (m *mediaStore) list() ([]storedFile, error) {
	entries, err := fs.ReadDir(m.root.FS(), ".")
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	var files []storedFile
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		ext := e.Name()[strings.LastIndexByte(e.Name(), '.')+1:]
		t, ok := extTypes["."+ext]
		if !ok {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("demo: %w", err)
		}
		files = append(files, storedFile{
			Name: e.Name(), URL: m.origin + "/" + e.Name(), Type: t, Size: fi.Size(),
			Image: strings.HasPrefix(t, "image/"), mod: fi.ModTime(),
		})
	}
	slices.SortFunc(files, func(a, b storedFile) int { return b.mod.Compare(a.mod) })
	return files, nil
}

func (m *mediaStore) prune() {
	m.mu.Lock()
	defer m.mu.Unlock()
	files, err := m.list()
	if err != nil || len(files) <= maxStoredFiles {
		return
	}
	for _, f := range files[maxStoredFiles:] {
		m.root.Remove(f.Name)
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
