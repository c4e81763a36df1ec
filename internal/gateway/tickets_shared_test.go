package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bulwarkdev/bulwark/internal/cluster"
)

// fakeClock is a settable clock shared by the gateways of a test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// flaky is a store that fails while down is set.
type flaky struct {
	cluster.Store
	mu   sync.Mutex
	down bool
}

var errDown = errors.New("store down")

func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }
func (f *flaky) isDown() bool  { f.mu.Lock(); defer f.mu.Unlock(); return f.down }
func (f *flaky) Get(ctx context.Context, k string) ([]byte, time.Time, error) {
	if f.isDown() {
		return nil, time.Time{}, errDown
	}
	return f.Store.Get(ctx, k)
}
func (f *flaky) TryLock(ctx context.Context, n, o string, ttl time.Duration) (bool, error) {
	if f.isDown() {
		return false, errDown
	}
	return f.Store.TryLock(ctx, n, o, ttl)
}

// TestSharedTicketRotation runs two gateways' ticket keys on one store
// with a fake clock: a ticket from either resumes on the other, across a
// rotation seen by one gateway before the other (the poll lag), and a
// ticket two rotations old resumes nowhere. With the store down, keys stay
// and TLS goes on; without the secret, the store's content derives no key
// the gateways use.
func TestSharedTicketRotation(t *testing.T) {
	cert, pool := testCert(t)
	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS 1.2", tls.VersionTLS12}, {"TLS 1.3", tls.VersionTLS13}} {
		t.Run(v.name, func(t *testing.T) {
			store := &flaky{Store: cluster.NewMemory()}
			clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			secret := bytes.Repeat([]byte("s"), 32)
			var logs bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			gw := func(owner string) (*tls.Config, *sharedTickets) {
				conf := serverTLS(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }, false)
				return conf, &sharedTickets{keys: newTicketKeys(conf), store: store, secret: secret, owner: owner,
					every: time.Hour, log: logger, now: clock.now}
			}
			confA, a := gw("a")
			confB, b := gw("b")
			ctx := context.Background()
			for _, s := range []*sharedTickets{a, b} {
				if err := s.sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if ka, kb := a.keys.current(), b.keys.current(); len(ka) != 2 || ka[0] != kb[0] || ka[1] != kb[1] {
				t.Fatalf("gateways disagree on keys: %x / %x", ka, kb)
			}
			client := func() *tls.Config {
				return &tls.Config{RootCAs: pool, ServerName: "site.test", MinVersion: v.version, MaxVersion: v.version,
					ClientSessionCache: tls.NewLRUClientSessionCache(1)}
			}
			c := client()
			if handshake(t, confA, c) {
				t.Fatal("first connection resumed")
			}
			if !handshake(t, confB, c) {
				t.Fatal("a ticket from gateway A did not resume on gateway B")
			}
			if !handshake(t, confA, c) {
				t.Fatal("a ticket from gateway B did not resume on gateway A")
			}

			// The interval ends; A syncs (and rotates), B lags behind.
			old := client()
			handshake(t, confA, old) // a ticket under the soon-previous key
			clock.add(time.Hour)
			if err := a.sync(ctx); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), `"event":"ticket_keys_rotated"`) {
				t.Fatalf("no rotation event: %s", logs.String())
			}
			fresh := client()
			handshake(t, confA, fresh) // a ticket under A's new current key
			if !handshake(t, confB, fresh) {
				t.Fatal("B, not yet synced, refused a ticket under the key A just rotated to")
			}
			if err := b.sync(ctx); err != nil {
				t.Fatal(err)
			}
			if ka, kb := a.keys.current(), b.keys.current(); ka[0] != kb[0] {
				t.Fatal("after B's sync the gateways encrypt under different keys")
			}
			if !handshake(t, confB, old) {
				t.Fatal("a ticket under the previous key did not resume")
			}

			// The store goes down: keys stay, TLS goes on, one event.
			store.set(true)
			before := a.keys.current()
			clock.add(time.Hour)
			logs.Reset()
			a.failCount = prometheus.NewCounter(prometheus.CounterOpts{Name: "f"})
			a.syncLogged(ctx)
			var m dto.Metric
			a.failCount.Write(&m)
			if n := m.GetCounter().GetValue(); n != 1 {
				t.Errorf("failed syncs counted %v, want 1", n)
			}
			if !strings.Contains(logs.String(), `"event":"ticket_keys_unavailable"`) {
				t.Fatalf("no ticket_keys_unavailable event: %s", logs.String())
			}
			if got := a.keys.current(); len(got) != len(before) || got[0] != before[0] {
				t.Fatal("keys changed while the store was down")
			}
			if !handshake(t, confA, fresh) {
				t.Fatal("no resumption while the store is down")
			}
			store.set(false)

			// Two more rotations: a ticket from before them is refused.
			stale := client()
			handshake(t, confA, stale)
			for range 2 {
				if err := a.sync(ctx); err != nil {
					t.Fatal(err)
				}
				clock.add(time.Hour)
			}
			if err := b.sync(ctx); err != nil {
				t.Fatal(err)
			}
			if handshake(t, confB, stale) {
				t.Fatal("a ticket two rotations old resumed")
			}

			// The store holds seeds, not keys: no stored value is a key in use.
			raw, _, err := store.Get(ctx, ticketRecordKey)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range b.keys.current() {
				if bytes.Contains(raw, k[:]) || bytes.Contains(raw, []byte(encodeB64(k[:]))) {
					t.Fatal("a ticket key is stored in the clear")
				}
			}
			// Another secret derives other keys from the same seeds.
			other := &sharedTickets{keys: newTicketKeys(&tls.Config{}), store: store, secret: bytes.Repeat([]byte("x"), 32),
				owner: "c", every: time.Hour, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: clock.now}
			if err := other.sync(ctx); err != nil {
				t.Fatal(err)
			}
			if other.keys.current()[0] == b.keys.current()[0] {
				t.Fatal("keys do not depend on the secret")
			}
		})
	}
}

func TestSharedTicketRecordGarbage(t *testing.T) {
	store := cluster.NewMemory()
	ctx := context.Background()
	store.Put(ctx, ticketRecordKey, []byte(`{"current":"AAAA"}`)) // wrong seed length
	s := &sharedTickets{keys: newTicketKeys(&tls.Config{}), store: store, secret: bytes.Repeat([]byte("s"), 32),
		owner: "a", every: time.Hour, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	if err := s.sync(ctx); err != nil {
		t.Fatalf("an unusable record is not replaced: %v", err)
	}
	if r, err := s.load(ctx); err != nil || !r.valid() {
		t.Fatalf("record after sync: %+v, %v", r, err)
	}
}

func TestTicketPoll(t *testing.T) {
	for _, tc := range []struct{ every, want time.Duration }{
		{time.Minute, 7500 * time.Millisecond},
		{24 * time.Hour, time.Minute},
		{time.Second, time.Second},
	} {
		if got := ticketPoll(tc.every); got != tc.want {
			t.Errorf("ticketPoll(%v) = %v, want %v", tc.every, got, tc.want)
		}
	}
}

func encodeB64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
