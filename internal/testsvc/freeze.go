package testsvc

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Relay is a TCP relay to a server that can stop relaying (Freeze): its
// clients then see what they see of a server stopped with SIGSTOP (the
// connections stay open, new ones are accepted, nothing is answered),
// without stopping a server other tests share. Thaw resumes relaying
// what was held back.
type Relay struct {
	// Addr is the relay's loopback host:port, to connect to instead of
	// the server.
	Addr   string
	ln     net.Listener
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

// StartRelay relays connections to target until t ends.
func StartRelay(t testing.TB, target string) *Relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, s)
			r.mu.Unlock()
			go r.relay(s, c)
			go r.relay(c, s)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
	})
	return r
}

// Port is the relay's port.
func (r *Relay) Port() int {
	_, p, _ := net.SplitHostPort(r.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Freeze stops relaying.
func (r *Relay) Freeze() { r.frozen.Store(true) }

// Thaw resumes relaying.
func (r *Relay) Thaw() { r.frozen.Store(false) }

func (r *Relay) relay(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for r.frozen.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			// One side gone: so is the other, as on a direct connection.
			dst.Close()
			return
		}
	}
}
