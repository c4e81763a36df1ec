package gateway

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cluster"
)

// FuzzTicketRecord feeds arbitrary bytes to a gateway as the fleet's
// ticket record (what anyone who can write to the store controls).
// Property: sync never panics and never installs a key it did not derive
// from a well-formed record: after sync, the record in the store is well
// formed (an unusable one was replaced) and the installed keys are the
// ones it derives.
func FuzzTicketRecord(f *testing.F) {
	seeds := [][]byte{
		nil, {}, []byte("{}"), []byte("null"), []byte("[]"),
		[]byte(`{"rotated":"2026-01-01T00:00:00Z","current":"AAAA","next":"AAAA"}`),
		[]byte(`{"rotated":"2026-01-01T00:00:00Z","current":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","next":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`),
		[]byte(`{"rotated":"9999-01-01T00:00:00Z","current":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","next":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","previous":"AA=="}`),
		[]byte("\xff\xfe not json"),
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		store := cluster.NewMemory()
		ctx := context.Background()
		store.Put(ctx, ticketRecordKey, raw)
		s := &sharedTickets{keys: newTicketKeys(&tls.Config{}), store: store, secret: make([]byte, 32),
			owner: "fuzz", every: time.Hour, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
		if err := s.sync(ctx); err != nil {
			t.Fatalf("sync on a memory store failed: %v", err)
		}
		rec, err := s.load(ctx)
		if err != nil || !rec.valid() {
			t.Fatalf("record after sync: %+v, %v", rec, err)
		}
		keys := s.keys.current()
		if len(keys) < 2 || keys[0] != s.derive(rec.Current) || keys[1] != s.derive(rec.Next) {
			t.Fatal("installed keys are not the record's")
		}
	})
}
