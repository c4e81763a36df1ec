package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/trustedproxy"
)

// Sentinel errors, wrapped by every *Error.
var (
	// ErrLimited: the client is over a rule's rate (429).
	ErrLimited = errors.New("ratelimit: rate limit exceeded")
	// ErrStoreUnavailable: the store could not decide and the rule fails
	// closed (503).
	ErrStoreUnavailable = errors.New("ratelimit: store unavailable")
)

// Error is a refused request: the rule that refused it and why.
type Error struct {
	Rule       string        // the rule's name
	Err        error         // ErrLimited or ErrStoreUnavailable
	RetryAfter time.Duration // for ErrLimited: when the client may try again
}

// Error names the sentinel and the rule; it holds no request data.
func (e *Error) Error() string { return e.Err.Error() + " (rule " + e.Rule + ")" }

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Status is the HTTP status of the refusal: 429 Too Many Requests, or 503
// when the store is unavailable.
func (e *Error) Status() int {
	if e.Err == ErrStoreUnavailable {
		return http.StatusServiceUnavailable
	}
	return http.StatusTooManyRequests
}

// Reason is the stable slug of the refusal in events: "rate_limited" or
// "store_unavailable".
func (e *Error) Reason() string {
	if e.Err == ErrStoreUnavailable {
		return "store_unavailable"
	}
	return "rate_limited"
}

// Limiter applies rate limits to requests. It is immutable and safe for
// concurrent use.
type Limiter struct {
	rules    []rule
	store    Store
	mem      *MemoryStore // the store, when it is one: it never blocks, so no deadline
	observe  func(string, Decision)
	logger   *slog.Logger
	lastWarn atomic.Int64 // unix nanoseconds of the last outage warning
	bufs     sync.Pool
}

// New validates c and returns a Limiter.
func New(c Config) (*Limiter, error) {
	rules, err := compile(c.Rules)
	if err != nil {
		return nil, err
	}
	l := &Limiter{rules: rules, store: c.Store, observe: c.Observe, logger: c.Logger}
	if l.store == nil {
		l.store = NewMemoryStore(MemoryConfig{})
	}
	l.mem, _ = l.store.(*MemoryStore)
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.bufs.New = func() any { b := make([]byte, 0, 256); return &b }
	return l, nil
}

// Check applies every rule matching r, counting the request, and returns
// an *Error for the first that refuses it. A failed-login rule counts the
// request too: only Handler sees the answer and can refund it.
func (l *Limiter) Check(r *http.Request) error {
	var down bool
	for i := range l.rules {
		ru := &l.rules[i]
		if !ru.matches(r) {
			continue
		}
		if _, err := l.take(r, ru, &down); err != nil {
			return err
		}
	}
	return nil
}

// Handler refuses requests over a limit with 429 Too Many Requests and a
// Retry-After header (whole seconds), or with 503 when a fail-closed
// rule's store cannot decide, and logs one Info refusal event per refusal
// (the shape every layer logs: event "rate_limit", reason "rate_limited"
// or "store_unavailable", client_ip, host, method, path; then rule and
// retry_after). Requests within the limits reach next unchanged. For
// failed-login rules (Rule.CountStatuses), the request is counted first
// and given back once next has answered with a status that does not
// count.
func (l *Limiter) Handler(next http.Handler) http.Handler {
	if len(l.rules) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pending uint64 // failed-login rules counted for this request
		var down bool      // the store failed for this request
		for i := range l.rules {
			ru := &l.rules[i]
			if !ru.matches(r) {
				continue
			}
			counted, err := l.take(r, ru, &down)
			if err != nil {
				// The request will not be answered by next: it is no
				// failed sign-in (unless the store is down: below).
				if !down {
					l.refund(r, pending, 0)
				}
				l.refuse(w, r, err)
				return
			}
			if counted && ru.counts != nil {
				pending |= 1 << i
			}
		}
		if pending == 0 || down {
			// With the store down, no refund is tried: the client
			// keeps the count, as for a refund that fails.
			next.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK // what net/http sends for a handler that wrote nothing
		}
		l.refund(r, pending, status)
	})
}

// take counts r under ru. It reports whether the store counted it (not
// when it failed open), and an *Error when ru refuses it.
//
// *down records that the store failed for an earlier rule of the same
// request: the later rules then apply their outage policy without a call,
// so that a frozen store costs a request one rule's timeout rather than
// the sum of the timeouts of every rule it matches. A store that failed
// a moment ago is unlikely to answer the next call; and a fail-closed
// rule still refuses, a fail-open one still lets through.
func (l *Limiter) take(r *http.Request, ru *rule, down *bool) (bool, *Error) {
	var res Result
	err := errStoreDown
	if !*down {
		res, err = l.call(r.Context(), r, ru, 1)
		*down = err != nil
	}
	switch {
	case err != nil && ru.failClosed:
		l.warn(r, ru, err, FailedClosed.String())
		l.decided(ru, FailedClosed)
		return false, &Error{Rule: ru.name, Err: ErrStoreUnavailable}
	case err != nil:
		l.warn(r, ru, err, FailedOpen.String())
		l.decided(ru, FailedOpen)
		return false, nil
	case !res.Allowed:
		l.decided(ru, Limited)
		return false, &Error{Rule: ru.name, Err: ErrLimited, RetryAfter: res.RetryAfter}
	}
	l.decided(ru, Allowed)
	return true, nil
}

// errStoreDown is the failure of a rule not tried because the store
// failed for an earlier rule of the same request.
var errStoreDown = errors.New("ratelimit: store failed for an earlier rule of this request")

// refund gives back the count of every failed-login rule in pending whose
// statuses do not include status (0: none does).
func (l *Limiter) refund(r *http.Request, pending uint64, status int) {
	for i := range l.rules {
		if pending&(1<<i) == 0 {
			continue
		}
		ru := &l.rules[i]
		if status != 0 && ru.counted(status) {
			continue
		}
		// The client may be gone; the refund is still owed to it.
		if _, err := l.call(context.WithoutCancel(r.Context()), r, ru, -1); err != nil {
			// The client keeps the count: an outage never frees a
			// guesser.
			l.warn(r, ru, err, "refund_failed")
			continue
		}
		l.decided(ru, Refunded)
	}
}

// call makes one store call for r under ru, with the rule's deadline.
func (l *Limiter) call(ctx context.Context, r *http.Request, ru *rule, cost int) (Result, error) {
	if l.mem != nil {
		// A direct call: the compiler sees that the memory store keeps
		// no reference to the key, so the key's buffer stays on the
		// stack.
		var buf [128]byte
		b := appendKey(buf[:0], r, ru)
		return l.mem.Take(ctx, unsafe.String(unsafe.SliceData(b), len(b)), ru.limit, cost)
	}
	bp := l.bufs.Get().(*[]byte)
	b := appendKey((*bp)[:0], r, ru)
	// A copy: the call may outlive this function (below).
	key := string(b)
	if cap(b) <= 4096 {
		*bp = b
		l.bufs.Put(bp)
	}
	c, cancel := context.WithTimeout(ctx, ru.timeout)
	defer cancel()
	// The deadline bounds the wait here rather than through the store:
	// a store may answer after ctx ends (a client library's connection
	// attempt that runs to its own connect timeout, a Store that ignores
	// ctx), and the request must not wait for it. The call runs on in its
	// goroutine; its answer, when it comes, is dropped, like that of a
	// call cut short by its deadline.
	done := make(chan answer, 1)
	go func() {
		res, err := l.store.Take(c, key, ru.limit, cost)
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-c.Done():
		select {
		case a := <-done: // an answer that came with the deadline counts
			return a.res, a.err
		default:
		}
		if err := c.Err(); err == context.DeadlineExceeded {
			return Result{}, fmt.Errorf("ratelimit: store did not answer within %s: %w", ru.timeout, err)
		}
		return Result{}, c.Err()
	}
}

// answer is a store call's outcome, passed from the goroutine making it.
type answer struct {
	res Result
	err error
}

// appendKey appends the store key of r under ru: the rule's name, then
// the client's identity.
func appendKey(b []byte, r *http.Request, ru *rule) []byte {
	b = append(b, ru.name...)
	switch ru.kind {
	case keyHeader:
		if v := r.Header[ru.keyName]; len(v) > 0 && v[0] != "" {
			return appendHash(append(b, ":h:"...), v[0])
		}
	case keyCookie:
		if v, ok := cookieValue(r, ru.keyName); ok {
			return appendHash(append(b, ":c:"...), v)
		}
	}
	ip := trustedproxy.ClientIP(r)
	if !ip.IsValid() {
		// No address (a Unix socket, an obfuscated Forwarded hop): such
		// clients share one count.
		return append(b, ":ip:unknown"...)
	}
	return appendNet(b, ip, ru.v4, ru.v6)
}

// appendNet appends the client's network: ":ip4/BITS:" or ":ip6/BITS:"
// and the hex of its address bytes, masked to the prefix (the prefix
// length is part of the key, so a changed prefix starts new counts).
// Hex rather than the textual address: formatting IPv6 costs more than the
// whole store call.
func appendNet(b []byte, ip netip.Addr, v4, v6 int) []byte {
	var raw [16]byte
	var bits int
	var addr []byte
	if ip.Is4() {
		a := ip.As4()
		bits, addr = v4, raw[:copy(raw[:], a[:])]
		b = append(b, ":ip4/"...)
	} else {
		a := ip.As16()
		bits, addr = v6, raw[:copy(raw[:], a[:])]
		b = append(b, ":ip6/"...)
	}
	b = strconv.AppendInt(b, int64(bits), 10)
	b = append(b, ':')
	n := (bits + 7) / 8
	addr = addr[:n]
	if rem := bits % 8; rem != 0 {
		addr[n-1] &= 0xff << (8 - rem)
	}
	return hex.AppendEncode(b, addr)
}

// appendHash appends a digest of an identifier the client sends: the
// store never holds the value itself (it may be a credential), and its
// length is bounded.
func appendHash(b []byte, v string) []byte {
	sum := sha256.Sum256([]byte(v))
	return hex.AppendEncode(b, sum[:16])
}

// cookieValue finds the first cookie named name without parsing the
// others (r.Cookie allocates for each).
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && k == name {
				v = strings.Trim(v, `"`)
				return v, v != ""
			}
		}
	}
	return "", false
}

func (l *Limiter) decided(ru *rule, d Decision) {
	if l.observe != nil {
		l.observe(ru.name, d)
	}
}

// warn logs a store failure, at most once a second per Limiter: during an
// outage every request fails the same way.
func (l *Limiter) warn(r *http.Request, ru *rule, err error, reason string) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(time.Second) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.logger.LogAttrs(r.Context(), slog.LevelWarn, "rate limit store unavailable",
		slog.String("event", "rate_limit_store_error"),
		slog.String("reason", reason),
		slog.String("rule", ru.name),
		slog.String("error", err.Error()))
}

// refuse answers a refused request and logs its one event.
func (l *Limiter) refuse(w http.ResponseWriter, r *http.Request, e *Error) {
	status := e.Status()
	if e.Err == ErrLimited {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	refusal.Log(l.logger, r, "request refused by rate limit", "rate_limit", e.Reason(),
		slog.String("rule", e.Rule), slog.Duration("retry_after", e.RetryAfter))
	http.Error(w, http.StatusText(status), status)
}

// statusWriter records the status the application answers with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the writer underneath
// (Flush, deadlines, hijacking).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
