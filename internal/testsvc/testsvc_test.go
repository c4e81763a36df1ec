package testsvc_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

func TestRedis(t *testing.T) {
	c := testsvc.Redis(t)
	k := testsvc.Unique("bulwark:testsvc:")
	ctx := context.Background()
	if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	defer c.Del(ctx, k)
	if v, err := c.Get(ctx, k).Result(); err != nil || v != "v" {
		t.Fatalf("GET = %q, %v", v, err)
	}
}

func TestPostgres(t *testing.T) {
	p := testsvc.Postgres(t)
	var one int
	if err := p.QueryRow(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
}

func TestUnique(t *testing.T) {
	a, b := testsvc.Unique("t_"), testsvc.Unique("t_")
	if a == b || len(a) != 18 || !strings.HasPrefix(a, "t_") {
		t.Fatalf("Unique = %q, %q", a, b)
	}
}

// TestUnreachable runs TestUnreachableChild in a child process with the
// services pointed at a closed port: it must skip, and fail instead when
// BULWARK_REQUIRE_SERVICES is set.
func TestUnreachable(t *testing.T) {
	if os.Getenv("TESTSVC_CHILD") != "" {
		t.Skip("child")
	}
	for _, tt := range []struct {
		require string
		want    string
	}{
		{"", "--- SKIP: TestUnreachableChild/"},
		{"1", "--- FAIL: TestUnreachableChild/"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUnreachableChild$", "-test.v")
		cmd.Env = append(os.Environ(),
			"TESTSVC_CHILD=1",
			"BULWARK_REQUIRE_SERVICES="+tt.require,
			// Port 1 on loopback: nothing listens there.
			"BULWARK_REDIS_ADDR=127.0.0.1:1",
			"BULWARK_POSTGRES_URL=postgres://postgres@127.0.0.1:1/test?sslmode=disable",
		)
		out, _ := cmd.CombinedOutput()
		if got := strings.Count(string(out), tt.want); got != 2 {
			t.Errorf("BULWARK_REQUIRE_SERVICES=%q: %d of 2 subtests gave %q:\n%s", tt.require, got, tt.want, out)
		}
	}
}

func TestUnreachableChild(t *testing.T) {
	if os.Getenv("TESTSVC_CHILD") == "" {
		t.Skip("run by TestUnreachable")
	}
	t.Run("redis", func(t *testing.T) { testsvc.Redis(t) })
	t.Run("postgres", func(t *testing.T) { testsvc.Postgres(t) })
}
