package cookiestore_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/bulwarkdev/bulwark/session/cookiestore"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

// A sealed cookie cannot be read or modified, and with a revocation store
// logout refuses every earlier copy.
func Example() {
	revocations, _ := memstore.New(memstore.Config{})
	s, _ := cookiestore.New(cookiestore.Config{
		Keys:        [][]byte{bytes.Repeat([]byte("k"), 32)}, // use 32 random bytes
		Revocations: revocations,
	})
	ctx := context.Background()
	value, _ := s.Seal(ctx, "session-key", []byte(`{"user":"ada"}`), time.Now().Add(time.Hour))
	fmt.Println("readable:", bytes.Contains([]byte(value), []byte("ada")))

	// Change one character (to one it is not).
	c := byte('x')
	if value[20] == c {
		c = 'y'
	}
	tampered := value[:20] + string(c) + value[21:]
	_, _, found, _ := s.Open(ctx, tampered)
	fmt.Println("tampered opens:", found)

	s.Revoke(ctx, "session-key") // logout
	_, _, found, _ = s.Open(ctx, value)
	fmt.Println("after logout opens:", found)
	// Output:
	// readable: false
	// tampered opens: false
	// after logout opens: false
}
