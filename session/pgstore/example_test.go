package pgstore_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/pgstore"
)

// Sessions in PostgreSQL shared by every instance of an application, with
// expired rows swept in the background.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	store, err := pgstore.New(ctx, pool, pgstore.Config{}) // table bulwark_sessions
	if err != nil {
		log.Fatal(err)
	}
	go session.Sweep(ctx, store, time.Hour, nil)

	sessions, err := session.New(session.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := session.Get[string](r, "user")
		w.Write([]byte("hello " + user))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(app)))
}
