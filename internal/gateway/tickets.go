package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"sync"
	"time"
)

// ticketKeysKept is how many session ticket keys are accepted: the newest,
// which encrypts every new ticket, and the one before it, so that a
// ticket issued just before a rotation still resumes a session.
const ticketKeysKept = 2

// ticketKeys owns the session ticket keys of the HTTPS listener's
// tls.Config. crypto/tls rotates its automatic keys daily but accepts
// each for 7 days: a key stolen from memory (or a core dump) would open
// a week of TLS 1.2 sessions resumed or started with its tickets (TLS 1.2
// resumption has no fresh key exchange, so the ticket holds the master
// secret). Setting the keys ourselves shortens that window to two
// rotation intervals, and the keys, made from crypto/rand and never
// written anywhere, go with the process.
type ticketKeys struct {
	conf *tls.Config

	mu   sync.Mutex
	keys [][32]byte // newest first, at most ticketKeysKept
}

// newTicketKeys installs a fresh key in conf, which then stops rotating
// keys on its own (see tls.Config.SetSessionTicketKeys).
func newTicketKeys(conf *tls.Config) *ticketKeys {
	t := &ticketKeys{conf: conf}
	t.rotate()
	return t
}

// rotate makes a fresh key the newest and drops the oldest beyond
// ticketKeysKept. Safe while the listener serves: SetSessionTicketKeys
// copies the keys under the config's own lock.
func (t *ticketKeys) rotate() {
	var k [32]byte
	rand.Read(k[:]) // never fails (crypto/rand aborts the process instead)
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := make([][32]byte, 0, ticketKeysKept)
	keys = append(keys, k)
	keys = append(keys, t.keys[:min(len(t.keys), ticketKeysKept-1)]...)
	t.keys = keys
	t.conf.SetSessionTicketKeys(keys)
}

// set installs keys (the first encrypts new tickets; all decrypt).
func (t *ticketKeys) set(keys [][32]byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys = append([][32]byte(nil), keys...)
	t.conf.SetSessionTicketKeys(t.keys)
}

// current returns a copy of the accepted keys, newest first.
func (t *ticketKeys) current() [][32]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([][32]byte(nil), t.keys...)
}

// run rotates the keys every interval until ctx is done.
func (t *ticketKeys) run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.rotate()
		}
	}
}

// start runs the rotation in a goroutine; the returned function stops it
// and waits for the goroutine to end.
func (t *ticketKeys) start(every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t.run(ctx, every)
	}()
	return func() {
		cancel()
		<-done
	}
}
