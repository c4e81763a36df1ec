//go:build linux

package gateway

import (
	"net"
	"syscall"
)

// idlePeeker tells whether a kept-alive upstream connection is still fit
// for a request: the upstream has neither closed it nor written anything
// on it since its last answer. It looks with one non-blocking
// recv(MSG_PEEK), which leaves any bytes where they are.
type idlePeeker struct {
	rc   syscall.RawConn
	fn   func(fd uintptr) // made once: a closure per call would allocate
	n    int
	err  error
	byte [1]byte
}

func (p *idlePeeker) init(c net.Conn) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	p.rc = rc
	p.fn = func(fd uintptr) {
		p.n, _, p.err = syscall.Recvfrom(int(fd), p.byte[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	}
}

// clean reports true when the connection has nothing to read and is open
// (the peek would block). Data waiting (an answer nobody asked for, or the
// rest of an answer longer than it said) or the upstream's close means
// the connection must not carry another request. A connection that can't
// be peeked at is taken as clean; the read of its answer then decides.
func (p *idlePeeker) clean() bool {
	if p.rc == nil {
		return true
	}
	// Control, not Read: the connection is idle and the pool's alone, so
	// there is no reader to wait for, and the peek never blocks.
	if err := p.rc.Control(p.fn); err != nil {
		return false
	}
	return p.err == syscall.EAGAIN
}
