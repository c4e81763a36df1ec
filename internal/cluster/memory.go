package cluster

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in the process's memory: what a single gateway without
// a [cluster] store uses, and a reference for the conformance tests.
type Memory struct {
	mu    sync.Mutex
	kv    map[string]memValue
	locks map[string]memLock
	now   func() time.Time
}

type memValue struct {
	v []byte
	m time.Time
}

type memLock struct {
	owner string
	until time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{kv: map[string]memValue{}, locks: map[string]memLock{}, now: time.Now}
}

// Get implements Store.
func (s *Memory) Get(ctx context.Context, key string) ([]byte, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return nil, time.Time{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[key]
	if !ok {
		return nil, time.Time{}, ErrNotFound
	}
	return append([]byte(nil), v.v...), v.m, nil
}

// Put implements Store.
func (s *Memory) Put(ctx context.Context, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv[key] = memValue{v: append([]byte(nil), value...), m: s.now()}
	return nil
}

// Delete implements Store.
func (s *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.kv, key)
	return nil
}

// List implements Store.
func (s *Memory) List(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out, nil
}

// TryLock implements Store.
func (s *Memory) TryLock(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if l, ok := s.locks[name]; ok && l.owner != owner && now.Before(l.until) {
		return false, nil
	}
	s.locks[name] = memLock{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// Unlock implements Store.
func (s *Memory) Unlock(ctx context.Context, name, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.locks[name]; ok && l.owner == owner {
		delete(s.locks, name)
	}
	return nil
}

// Close implements Store.
func (s *Memory) Close() error { return nil }
