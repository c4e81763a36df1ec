package session_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

// hangingStore waits for its context like a network store whose server
// stopped answering, and records the deadline it was given.
type hangingStore struct {
	session.Store
	deadlines chan time.Duration
}

func (h hangingStore) Find(ctx context.Context, key string) ([]byte, bool, error) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Now().Add(time.Hour)
	}
	h.deadlines <- time.Until(d)
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func TestStoreTimeout(t *testing.T) {
	mem, _ := memstore.New(memstore.Config{})
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"default", 0, session.DefaultStoreTimeout},
		{"configured", 150 * time.Millisecond, 150 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := hangingStore{Store: mem, deadlines: make(chan time.Duration, 1)}
			m, err := session.New(session.Config{Store: hs, StoreTimeout: tc.timeout,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				session.Get[string](r, "user")
				io.WriteString(w, "app ran")
			}))
			req := httptest.NewRequest("GET", "https://example.com/", nil)
			req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
			rec := httptest.NewRecorder()
			begin := time.Now()
			h.ServeHTTP(rec, req)
			took := time.Since(begin)
			if rec.Code != http.StatusServiceUnavailable || rec.Body.String() == "app ran" {
				t.Fatalf("hanging store: %d %q, want 503", rec.Code, rec.Body.String())
			}
			got := <-hs.deadlines
			if got > tc.want || got < tc.want-100*time.Millisecond {
				t.Errorf("store given a deadline %v away, want %v", got, tc.want)
			}
			if took < tc.want-50*time.Millisecond || took > tc.want+time.Second {
				t.Errorf("answered after %v, want about %v", took, tc.want)
			}
		})
	}
	if _, err := session.New(session.Config{Store: mem, StoreTimeout: -time.Second}); err == nil {
		t.Error("negative StoreTimeout accepted")
	}
}

// keeper is a store that keeps the context of its calls and uses it
// afterwards from another goroutine, as pgx's pool does for a background
// dial: the later calls of the same request must not be disturbed, and
// the kept context reports itself done.
type keeper struct {
	session.Store
	kept chan context.Context
}

func (k keeper) Find(ctx context.Context, key string) ([]byte, bool, error) {
	k.kept <- ctx
	return k.Store.Find(ctx, key)
}

func (k keeper) Commit(ctx context.Context, key string, data []byte, exp time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return k.Store.Commit(ctx, key, data, exp)
}

func TestStoreKeepsContext(t *testing.T) {
	mem, _ := memstore.New(memstore.Config{})
	k := keeper{Store: mem, kept: make(chan context.Context, 4)}
	m, err := session.New(session.Config{Store: k, Cookie: session.CookieConfig{AllowInsecureCookie: true}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var used sync.WaitGroup
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.Get[string](r, "user") // Find: its context is kept
		ctx := <-k.kept
		used.Add(1)
		go func() { // a background user of the kept context
			defer used.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx.Value("x")
				ctx.Deadline()
				ctx.Err()
				<-ctx.Done() // ended with its call
			}
		}()
		session.Put(r, "user", "ada") // then Update/Commit, on a fresh deadline
	}))
	req := httptest.NewRequest("GET", "http://example.com/", nil)
	req.AddCookie(&http.Cookie{Name: m.CookieName(), Value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	close(stop)
	used.Wait()
	if rec.Code != 200 || rec.Header().Get("Set-Cookie") == "" {
		t.Fatalf("a store that kept an earlier call's context broke a later call: %d", rec.Code)
	}
}
