package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/bulwarkdev/bulwark/session/memstore"
)

// An expired session is never returned, even before the sweep removes it.
func Example() {
	now := time.Unix(1_700_000_000, 0)
	s, _ := memstore.New(memstore.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	s.Commit(ctx, "key", []byte("data"), now.Add(time.Minute))

	_, found, _ := s.Find(ctx, "key")
	fmt.Println("fresh:", found)
	now = now.Add(2 * time.Minute)
	_, found, _ = s.Find(ctx, "key")
	fmt.Println("expired:", found)
	// Output:
	// fresh: true
	// expired: false
}
