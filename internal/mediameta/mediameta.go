// Package mediameta decides the type of a stored file by its content, for
// the media host: whatever stored the file (Bulwark's upload storage, or
// the application itself, as Django's FileField does), the type it is
// served with is the one inspect.File detects, never a name or a
// recorded claim.
//
// A file the inspector accepts under the policy is served with its
// detected type (and the media handler shows only raster images inline);
// anything else, an image with HTML after its end marker included, is an
// opaque application/octet-stream attachment. The display name still comes
// from the file's sidecar (media.WriteSidecar) when it has one.
//
// Verdicts are cached by name, size and modification time, so a file is
// read in full once, not on every request; a replaced file is inspected
// again.
package mediameta

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Opaque is the type of a file the inspector does not accept.
const Opaque = "application/octet-stream"

// maxCache bounds the verdict cache (entries); when full it starts afresh.
const maxCache = 4096

// MaxInspect is the largest file inspected; a larger one is served as an
// opaque attachment without being read (a video the app stored, say).
const MaxInspect = 64 << 20

// Lookup is a media.Lookup that types files by content.
type Lookup struct {
	root   *os.Root
	policy inspect.Policy

	mu    sync.Mutex
	cache map[string]entry
}

type entry struct {
	size int64
	mod  time.Time
	typ  string
}

var _ media.Lookup = (*Lookup)(nil)

// New opens dir (the media root) and returns a Lookup deciding types under
// policy (its zero value: inspect.DefaultAllow). Close releases the root.
func New(dir string, policy inspect.Policy) (*Lookup, error) {
	if err := policy.Validate(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &Lookup{root: root, policy: policy, cache: map[string]entry{}}, nil
}

// Close releases the root.
func (l *Lookup) Close() error { return l.root.Close() }

// Lookup returns name's metadata: its type by content, its display name
// from its sidecar. An error means the file could not be read; the media
// handler then serves it as an opaque attachment.
func (l *Lookup) Lookup(ctx context.Context, name string) (media.Meta, error) {
	f, err := l.root.Open(name)
	if err != nil {
		return media.Meta{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return media.Meta{}, err
	}
	if !fi.Mode().IsRegular() {
		return media.Meta{}, errors.New("mediameta: not a regular file")
	}
	m := media.Meta{Filename: l.displayName(name)}
	l.mu.Lock()
	e, ok := l.cache[name]
	l.mu.Unlock()
	if ok && e.size == fi.Size() && e.mod.Equal(fi.ModTime()) {
		m.Type = e.typ
		return m, nil
	}
	m.Type = Opaque
	if fi.Size() <= MaxInspect {
		v, err := inspect.File(f, name, l.policy)
		if err != nil {
			return media.Meta{}, err
		}
		if v.Allowed {
			m.Type = v.Type
		}
	}
	l.mu.Lock()
	if len(l.cache) >= maxCache {
		clear(l.cache)
	}
	l.cache[name] = entry{size: fi.Size(), mod: fi.ModTime(), typ: m.Type}
	l.mu.Unlock()
	return m, nil
}

// displayName reads the Filename of name's sidecar, if it has one.
func (l *Lookup) displayName(name string) string {
	sc, err := media.ReadSidecar(l.root, name)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(sc.Filename)
}
