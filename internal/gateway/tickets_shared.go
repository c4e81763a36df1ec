package gateway

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bulwarkdev/bulwark/internal/cluster"
)

// Shared session ticket keys.
//
// The store holds random seeds, never keys: each gateway derives the key
// of a seed with HKDF-SHA256 under the fleet's secret (from its
// environment), so a store reader learns nothing that decrypts a ticket.
// The record keeps three seeds: the current one (encrypts new tickets),
// the previous one (still accepted, as in the local scheme) and the next
// one, already accepted before it becomes current. One gateway rotates
// (next becomes current) under a lease; the others see the change at
// their next poll, up to ticketPoll later, and meanwhile still accept the
// new tickets, since they had the new current key as their next. So a
// ticket resumes on every gateway of the fleet across a rotation, not only
// on the one that issued it.

const (
	ticketRecordKey = "tls/ticket-seeds"
	ticketLockName  = "tls/ticket-rotation"
	ticketLockTTL   = 30 * time.Second
	ticketKeyInfo   = "bulwark tls session ticket key v1"
)

// ticketRecord is the store's record of ticket seeds.
type ticketRecord struct {
	Rotated  time.Time `json:"rotated"`
	Current  []byte    `json:"current"`
	Next     []byte    `json:"next"`
	Previous []byte    `json:"previous,omitempty"`
}

func (r *ticketRecord) valid() bool {
	return len(r.Current) == 32 && len(r.Next) == 32 && (r.Previous == nil || len(r.Previous) == 32)
}

// ticketPoll is how often a gateway reads the record: often enough that
// the lag after a rotation stays far below an interval.
func ticketPoll(every time.Duration) time.Duration {
	return min(max(every/8, time.Second), time.Minute)
}

func seed() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// sharedTickets keeps a ticketKeys in step with the store.
type sharedTickets struct {
	keys   *ticketKeys
	store  cluster.Store
	secret []byte
	owner  string
	every  time.Duration
	log    *slog.Logger
	now    func() time.Time
	// okCount and failCount count syncs by result (nil: not counted).
	okCount, failCount prometheus.Counter

	synced bool // the keys in use come from the store
}

// derive returns the ticket key of a seed.
func (s *sharedTickets) derive(seed []byte) [32]byte {
	k, err := hkdf.Key(sha256.New, s.secret, seed, ticketKeyInfo, 32)
	if err != nil {
		panic(err) // only for lengths beyond 255*32 bytes
	}
	return [32]byte(k)
}

func (s *sharedTickets) load(ctx context.Context) (*ticketRecord, error) {
	b, _, err := s.store.Get(ctx, ticketRecordKey)
	if err != nil {
		return nil, err
	}
	var r ticketRecord
	if err := json.Unmarshal(b, &r); err != nil || !r.valid() {
		// Unusable: treated as absent, so the next rotation replaces it.
		return nil, cluster.ErrNotFound
	}
	return &r, nil
}

// sync reads the record, rotates it when its interval is over (under the
// lease, so one gateway does), and installs its keys. On a store failure
// the keys in use stay.
func (s *sharedTickets) sync(ctx context.Context) error {
	rec, err := s.load(ctx)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return err
	}
	if rec == nil || !s.now().Before(rec.Rotated.Add(s.every)) {
		ok, err := s.store.TryLock(ctx, ticketLockName, s.owner, ticketLockTTL)
		if err != nil {
			return err
		}
		if ok {
			rec, err = s.rotate(ctx)
			uctx, cancel := context.WithTimeout(context.Background(), time.Second)
			s.store.Unlock(uctx, ticketLockName, s.owner)
			cancel()
			if err != nil {
				return err
			}
		}
	}
	if rec == nil {
		return errors.New("gateway: ticket seeds are being made by another gateway")
	}
	keys := [][32]byte{s.derive(rec.Current), s.derive(rec.Next)}
	if rec.Previous != nil {
		keys = append(keys, s.derive(rec.Previous))
	}
	s.keys.set(keys)
	s.synced = true
	return nil
}

// rotate advances the record under the lease: read again (another
// gateway may have rotated since), and write the next generation if the
// interval is still over.
func (s *sharedTickets) rotate(ctx context.Context) (*ticketRecord, error) {
	rec, err := s.load(ctx)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return nil, err
	}
	now := s.now()
	switch {
	case rec == nil:
		rec = &ticketRecord{Rotated: now, Current: seed(), Next: seed()}
	case !now.Before(rec.Rotated.Add(s.every)):
		rec = &ticketRecord{Rotated: now, Previous: rec.Current, Current: rec.Next, Next: seed()}
	default:
		return rec, nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	if err := s.store.Put(ctx, ticketRecordKey, b); err != nil {
		return nil, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "session ticket keys rotated for the fleet", slog.String("event", "ticket_keys_rotated"))
	return rec, nil
}

// syncLogged runs sync and logs a failure: TLS goes on with the keys in
// use (the last ones from the store, or local ones if the store was never
// reached), which only costs resumption on other gateways.
func (s *sharedTickets) syncLogged(ctx context.Context) {
	err := s.sync(ctx)
	switch {
	case err == nil && s.okCount != nil:
		s.okCount.Inc()
	case err != nil && ctx.Err() == nil && s.failCount != nil:
		s.failCount.Inc()
	}
	if err != nil && ctx.Err() == nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "session ticket keys not synchronised, keeping the last ones",
			slog.String("event", "ticket_keys_unavailable"), slog.String("error", err.Error()),
			slog.Bool("shared_keys", s.synced))
	}
}

// start syncs once, then every ticketPoll until the returned function is
// called (which waits for the loop to end). Gateways starting together
// race to make the first record: the ones that lose wait for it briefly
// (startWait) rather than serve a minute with keys of their own. Until a
// sync succeeds, the loop retries every second.
func (s *sharedTickets) start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	deadline := time.Now().Add(startWait)
	for {
		err := s.sync(ctx)
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				s.syncLogged(ctx)
			} else if s.okCount != nil {
				s.okCount.Inc()
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			wait := ticketPoll(s.every)
			if !s.synced {
				wait = time.Second
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				s.syncLogged(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// startWait bounds the wait for the fleet's first ticket record at start.
const startWait = 3 * time.Second
