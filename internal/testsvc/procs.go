package testsvc

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a Redis or PostgreSQL server a test started for itself, so
// that it can freeze it (SIGSTOP: the process keeps its sockets open and
// stops answering, as a hung or overloaded server does) and thaw it again
// without disturbing the shared servers other tests use. It is stopped
// when the test ends.
type Server struct {
	// Addr is the loopback host:port it listens on.
	Addr string
	// URL is the address as a client URL: "redis://Addr/0" or a
	// PostgreSQL URL for the database "postgres" with trust
	// authentication.
	URL string

	cmd *exec.Cmd
	out *lockedBuffer
}

// Freeze stops the server with SIGSTOP: the main process first (so that it
// starts no new child), then its children, since PostgreSQL serves each
// connection from a child process in a session of its own.
func (s *Server) Freeze() {
	pid := s.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGSTOP)
	for _, c := range children(pid) {
		syscall.Kill(c, syscall.SIGSTOP)
	}
}

// Thaw resumes a frozen server with SIGCONT, children first.
func (s *Server) Thaw() {
	pid := s.cmd.Process.Pid
	for _, c := range children(pid) {
		syscall.Kill(c, syscall.SIGCONT)
	}
	syscall.Kill(pid, syscall.SIGCONT)
}

// children lists the processes whose parent is pid, from /proc.
func children(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and
		// parentheses, so parse after its last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		if c, err := strconv.Atoi(filepath.Base(filepath.Dir(f))); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// Log returns what the server wrote so far.
func (s *Server) Log() string { return s.out.String() }

// start runs cmd and arranges its end with t: thawed, then SIGTERM, then
// SIGKILL after 10s.
func start(t testing.TB, cmd *exec.Cmd, addr, url string) *Server {
	t.Helper()
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		unavailable(t, cmd.Path, err)
	}
	s := &Server{Addr: addr, URL: url, cmd: cmd, out: out}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("%s exited before listening:\n%s", cmd.Path, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 30s:\n%s", cmd.Path, addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartRedis starts a redis-server of its own on a free loopback port,
// without persistence. A missing redis-server skips t, or fails it when
// BULWARK_REQUIRE_SERVICES is set.
func StartRedis(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		unavailable(t, "redis-server (apt-get install -y redis-server)", err)
	}
	addr := freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--protected-mode", "yes")
	return start(t, cmd, addr, "redis://"+addr+"/0")
}

// postgresBin finds a PostgreSQL server program: on PATH, else in
// Debian's /usr/lib/postgresql/VERSION/bin (newest version first).
func postgresBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	sort.Sort(sort.Reverse(sort.StringSlice(m)))
	if len(m) == 0 {
		return "", fmt.Errorf("%s not found on PATH or in /usr/lib/postgresql/*/bin", name)
	}
	return m[0], nil
}

// StartPostgres starts a PostgreSQL server of its own (a fresh cluster
// made with initdb, trust authentication, fsync off) on a free loopback
// port. PostgreSQL refuses to run as root: as root, the server runs as the
// "postgres" user. A missing PostgreSQL skips t, or fails it when
// BULWARK_REQUIRE_SERVICES is set.
func StartPostgres(t testing.TB) *Server {
	t.Helper()
	initdb, err1 := postgresBin("initdb")
	server, err2 := postgresBin("postgres")
	if err1 != nil || err2 != nil {
		unavailable(t, "PostgreSQL server programs (apt-get install -y postgresql)", fmt.Errorf("%v; %v", err1, err2))
	}
	// Not t.TempDir: its parent is private to the test's user, and the
	// server may run as another.
	dir, err := os.MkdirTemp("", "bulwark-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			unavailable(t, "a postgres user to run PostgreSQL as (running as root)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	init := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C")
	init.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	init.Dir = dir
	if out, err := init.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	addr := freeLoopbackAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(server, "-D", data, "-p", port, "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=50")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	s := start(t, cmd, addr, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
	// Listening comes before accepting queries: wait for a query.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := pgx.Connect(ctx, s.URL)
		if err == nil {
			err = c.Ping(ctx)
			c.Close(ctx)
		}
		cancel()
		if err == nil {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL on %s does not answer: %v\n%s", addr, err, s.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
