package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// TestMain lets this test binary run as a gateway process: with
// BULWARK_TEST_GATEWAY_CONFIG set, it serves that configuration file until
// SIGTERM, as "bulwark serve" does, after printing its bound addresses as
// one JSON line on standard output. The fleet tests start several such
// processes: gateways that share nothing but the cluster store.
func TestMain(m *testing.M) {
	if path := os.Getenv("BULWARK_TEST_GATEWAY_CONFIG"); path != "" {
		os.Exit(serveGatewayProcess(path))
	}
	os.Exit(m.Run())
}

// fleetAddrs is the line a gateway process prints when it is listening.
type fleetAddrs struct {
	HTTPS, HTTP string
}

func serveGatewayProcess(path string) int {
	cfg, err := gateway.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	g, err := gateway.New(cfg, nil) // logs to standard error
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ln, err := g.Listen()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a := fleetAddrs{HTTPS: ln.HTTPS.Addr().String()}
	if ln.HTTP != nil {
		a.HTTP = ln.HTTP.Addr().String()
	}
	json.NewEncoder(os.Stdout).Encode(a)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := g.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// fleetGateway is a gateway process started by a test.
type fleetGateway struct {
	fleetAddrs
	logs *lockedLog
}

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startFleet starts n gateway processes on the configuration toml (with
// env added to their environment), all at once, and waits until each
// listens. They are stopped with SIGTERM when t ends.
func startFleet(t *testing.T, n int, toml string, env ...string) []*fleetGateway {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bulwark.toml")
	if err := os.WriteFile(path, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	type started struct {
		i   int
		g   *fleetGateway
		err error
	}
	ch := make(chan started, n)
	gws := make([]*fleetGateway, n)
	for i := range n {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "BULWARK_TEST_GATEWAY_CONFIG="+path)
		cmd.Env = append(cmd.Env, env...)
		logs := &lockedLog{}
		cmd.Stderr = logs
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
			if t.Failed() {
				t.Logf("gateway %d log:\n%s", i, logs.String())
			}
		})
		go func() {
			defer close(done)
			r := bufio.NewReader(out)
			line, err := r.ReadString('\n')
			var st started
			switch {
			case err != nil:
				st = started{i: i, err: fmt.Errorf("gateway %d: %v\n%s", i, err, logs.String())}
			default:
				g := &fleetGateway{logs: logs}
				if err := json.Unmarshal([]byte(line), &g.fleetAddrs); err != nil {
					st = started{i: i, err: err}
				} else {
					st = started{i: i, g: g}
				}
			}
			ch <- st
			io.Copy(io.Discard, r)
			cmd.Wait()
		}()
	}
	deadline := time.After(60 * time.Second)
	for range n {
		select {
		case s := <-ch:
			if s.err != nil {
				t.Fatal(s.err)
			}
			gws[s.i] = s.g
		case <-deadline:
			t.Fatal("gateway processes did not start within 60s")
		}
	}
	return gws
}
