package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// CertStorage is a certmagic.Storage on a Store: certificates, keys and the
// ACME account shared by every gateway of the fleet, with certmagic's
// issuance locks as leases, so that gateways starting together place one
// order per name (the first takes the lock and orders; the others wait,
// then find the certificate in the store).
type CertStorage struct {
	s     Store
	owner string
	log   *slog.Logger

	mu    sync.Mutex
	local map[string]chan struct{} // held in this process: name -> released
	held  map[string]context.CancelFunc
}

var _ certmagic.Storage = (*CertStorage)(nil)

// Lease timings: a lease lasts certLeaseTTL and its holder renews it every
// certLeaseRenew, so a gateway that dies mid-order frees the name within
// certLeaseTTL; waiters retry every certLeasePoll.
const (
	certLeaseTTL   = 30 * time.Second
	certLeaseRenew = 10 * time.Second
	certLeasePoll  = 250 * time.Millisecond
)

// certKeyPrefix keeps certmagic's keys apart from the store's other data.
const certKeyPrefix = "certmagic/"

// NewCertStorage returns a certmagic.Storage on s; owner names this process
// in leases (see NewOwner); logger receives lease renewal failures (nil:
// slog.Default()).
func NewCertStorage(s Store, owner string, logger *slog.Logger) *CertStorage {
	if logger == nil {
		logger = slog.Default()
	}
	return &CertStorage{s: s, owner: owner, log: logger, local: map[string]chan struct{}{}, held: map[string]context.CancelFunc{}}
}

// Store implements certmagic.Storage.
func (c *CertStorage) Store(ctx context.Context, key string, value []byte) error {
	return c.s.Put(ctx, certKeyPrefix+key, value)
}

// Load implements certmagic.Storage: fs.ErrNotExist for a missing key.
func (c *CertStorage) Load(ctx context.Context, key string) ([]byte, error) {
	v, _, err := c.s.Get(ctx, certKeyPrefix+key)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", fs.ErrNotExist, key)
	}
	return v, err
}

// Delete implements certmagic.Storage: key and every key below key + "/".
func (c *CertStorage) Delete(ctx context.Context, key string) error {
	below, err := c.s.List(ctx, certKeyPrefix+key+"/")
	if err != nil {
		return err
	}
	for _, k := range below {
		if err := c.s.Delete(ctx, k); err != nil {
			return err
		}
	}
	return c.s.Delete(ctx, certKeyPrefix+key)
}

// Exists implements certmagic.Storage.
func (c *CertStorage) Exists(ctx context.Context, key string) bool {
	_, err := c.Stat(ctx, key)
	return err == nil
}

// List implements certmagic.Storage.
func (c *CertStorage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	p := certKeyPrefix
	if dir != "" {
		p += strings.TrimSuffix(dir, "/") + "/"
	}
	keys, err := c.s.List(ctx, p)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		rel := strings.TrimPrefix(k, p)
		if !recursive {
			rel, _, _ = strings.Cut(rel, "/")
		}
		full := path.Join(dir, rel)
		if !seen[full] {
			seen[full] = true
			out = append(out, full)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", fs.ErrNotExist, dir)
	}
	return out, nil
}

// Stat implements certmagic.Storage.
func (c *CertStorage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	v, mod, err := c.s.Get(ctx, certKeyPrefix+key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: mod, Size: int64(len(v)), IsTerminal: true}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return certmagic.KeyInfo{}, err
	}
	below, err := c.s.List(ctx, certKeyPrefix+key+"/")
	if err != nil {
		return certmagic.KeyInfo{}, err
	}
	if len(below) == 0 {
		return certmagic.KeyInfo{}, fmt.Errorf("%w: %q", fs.ErrNotExist, key)
	}
	return certmagic.KeyInfo{Key: key}, nil
}

// Lock implements certmagic.Locker: it waits until this process holds the
// lease on name in the store, or ctx ends. The lease is renewed until
// Unlock.
func (c *CertStorage) Lock(ctx context.Context, name string) error {
	// One holder per process first: the store's lease is per owner, and
	// two goroutines of one gateway share the owner name.
	for {
		c.mu.Lock()
		ch, busy := c.local[name]
		if !busy {
			c.local[name] = make(chan struct{})
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		ok, err := c.s.TryLock(ctx, certKeyPrefix+name, c.owner, certLeaseTTL)
		if ok {
			break
		}
		if err != nil && ctx.Err() == nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "certificate lock failed, retrying",
				slog.String("event", "cluster_lock_failed"), slog.String("lock", name), slog.String("error", err.Error()))
		}
		select {
		case <-time.After(certLeasePoll):
		case <-ctx.Done():
			c.releaseLocal(name)
			return ctx.Err()
		}
	}
	rctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.held[name] = cancel
	c.mu.Unlock()
	go c.renew(rctx, name)
	return nil
}

// renew extends the lease on name until ctx ends.
func (c *CertStorage) renew(ctx context.Context, name string) {
	t := time.NewTicker(certLeaseRenew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ok, err := c.s.TryLock(ctx, certKeyPrefix+name, c.owner, certLeaseTTL); !ok && ctx.Err() == nil {
				msg := "taken over"
				if err != nil {
					msg = err.Error()
				}
				c.log.LogAttrs(ctx, slog.LevelWarn, "certificate lock renewal failed",
					slog.String("event", "cluster_lock_failed"), slog.String("lock", name), slog.String("error", msg))
			}
		}
	}
}

// Unlock implements certmagic.Locker.
func (c *CertStorage) Unlock(ctx context.Context, name string) error {
	c.mu.Lock()
	if cancel, ok := c.held[name]; ok {
		cancel()
		delete(c.held, name)
	}
	c.mu.Unlock()
	err := c.s.Unlock(ctx, certKeyPrefix+name, c.owner)
	c.releaseLocal(name)
	return err
}

func (c *CertStorage) releaseLocal(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.local[name]; ok {
		close(ch)
		delete(c.local, name)
	}
}

// String names the storage in certmagic's logs.
func (c *CertStorage) String() string { return "bulwark cluster storage" }
