package redisstore_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/redisstore"
	"github.com/bulwarkdev/bulwark/session/sessiontest"
)

// freePort returns a loopback port that is free, with its cluster bus
// port (port + 10000) free too.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port > 55000 {
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		if err != nil {
			continue
		}
		bus.Close()
		return port
	}
	t.Fatal("no free port pair for a cluster node")
	return 0
}

// startCluster starts a three-node Redis Cluster on loopback, for this
// test only, and returns its addresses.
func startCluster(t *testing.T) []string {
	t.Helper()
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		if testsvc.Required() {
			t.Fatal("redis-server and redis-cli are needed for the cluster test")
		}
		t.Skip("redis-server or redis-cli not installed")
	}
	dir := t.TempDir()
	var addrs []string
	for range 3 {
		port := freePort(t)
		p := strconv.Itoa(port)
		cmd := exec.Command(server,
			"--port", p, "--bind", "127.0.0.1", "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes-"+p+".conf"),
			"--dir", dir, "--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, p+".log"))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		addrs = append(addrs, "127.0.0.1:"+p)
	}
	for _, a := range addrs {
		if err := waitFor(func() error {
			c, err := net.Dial("tcp", a)
			if err == nil {
				c.Close()
			}
			return err
		}); err != nil {
			t.Fatalf("cluster node %s did not start: %v", a, err)
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := waitFor(func() error {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("cluster state not ok yet")
			}
			return nil
		})
		c.Close()
		if err != nil {
			t.Fatalf("cluster node %s: %v", a, err)
		}
	}
	return addrs
}

func waitFor(f func() error) error {
	var err error
	for range 100 {
		if err = f(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// The store on a Redis Cluster: the conformance suite passes through a
// ClusterClient, and sessions really are spread over the nodes (every
// command touches one key, so no hash tags are needed).
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	addrs := startCluster(t)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })

	sessiontest.Run(t, func(t *testing.T) session.Store {
		s, err := redisstore.New(client, redisstore.Config{Prefix: testsvc.Unique("bulwark:test:") + ":"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})

	s, err := redisstore.New(client, redisstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for range 30 {
		sessiontest.MustCommit(t, s, sessiontest.Key(), []byte("x"), sessiontest.Live())
	}
	nodes := 0
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		n, err := c.DBSize(context.Background()).Result()
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			nodes++
		}
	}
	if nodes < 2 {
		t.Fatalf("sessions landed on %d of %d nodes, want them spread", nodes, len(addrs))
	}
}
