package session

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Values are stored as JSON (encoding/json), never gob: the data is
// portable between stores, languages and versions, and decoding cannot
// instantiate arbitrary types. Strings, integers and booleans take a fast
// path that produces the same JSON without reflection.

// Get returns the value under key decoded into a T. It reports false when
// the key is absent, when the stored JSON does not decode into a T, or
// when the store failed (the response then becomes a 503; Err tells).
func Get[T any](r *http.Request, key string) (T, bool) {
	var v T
	st, err := stateOf(r)
	if err != nil {
		return v, false
	}
	st.mu.Lock()
	raw, ok := st.get(key)
	st.mu.Unlock()
	if !ok {
		return v, false
	}
	return decodeAs[T](raw)
}

// decodeAs decodes raw into a T; the fast paths keep the result on the
// stack (only the reflective fallback's variable escapes).
func decodeAs[T any](raw string) (T, bool) {
	var v T
	if fastDecode(raw, any(&v)) {
		return v, true
	}
	var w T
	if json.Unmarshal([]byte(raw), &w) != nil {
		return v, false
	}
	return w, true
}

// Has reports whether key is in the session.
func Has(r *http.Request, key string) bool {
	st, err := stateOf(r)
	if err != nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	_, ok := st.get(key)
	return ok
}

// Keys returns the session's keys, sorted.
func Keys(r *http.Request) []string {
	st, err := stateOf(r)
	if err != nil {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.load() != nil {
		return nil
	}
	keys := make([]string, 0, len(st.rec.values))
	for _, e := range st.rec.values {
		keys = append(keys, e.k)
	}
	slices.Sort(keys)
	return keys
}

func (st *state) get(key string) (string, bool) {
	if st.load() != nil {
		return "", false
	}
	return st.rec.values.get(key)
}

// Put stores v under key, as JSON. It fails when v does not encode, when
// the store failed, or after the response started (ErrResponseStarted).
func Put(r *http.Request, key string, v any) error {
	st, err := stateOf(r)
	if err != nil {
		return err
	}
	raw, err := encode(v)
	if err != nil {
		return fmt.Errorf("session: value for %q: %w", key, err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.mutable(); err != nil {
		return err
	}
	st.rec.values.set(key, raw)
	st.modified = true
	return nil
}

// change runs f on the request's session under its lock, once the session
// is loaded and can still be saved (see mutable).
func change(r *http.Request, f func(st *state) error) error {
	st, err := stateOf(r)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.mutable(); err != nil {
		return err
	}
	return f(st)
}

// mutable loads the session and refuses changes that can no longer be
// saved. The caller holds st.mu.
func (st *state) mutable() error {
	if st.committed {
		return ErrResponseStarted
	}
	return st.load()
}

// Pop returns the value under key, like Get, and removes it.
func Pop[T any](r *http.Request, key string) (T, bool) {
	var v T
	st, err := stateOf(r)
	if err != nil {
		return v, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.mutable() != nil {
		return v, false
	}
	raw, ok := st.rec.values.get(key)
	if !ok {
		return v, false
	}
	st.rec.values.remove(key)
	st.modified = true
	return decodeAs[T](raw)
}

// Remove deletes key from the session. Removing an absent key does not
// mark the session modified.
func Remove(r *http.Request, key string) error {
	return change(r, func(st *state) error {
		if st.rec.values.remove(key) {
			st.modified = true
		}
		return nil
	})
}

// Renew gives the session a new id, keeping its data, and deletes the
// record under the old id at once (Django's cycle_key). Call it whenever
// the privilege level changes: login, logout-to-anonymous, sudo mode,
// password change. An id planted before login (session fixation) is then
// worthless after it. Unlike Django's login, which keeps the key when the
// same user logs in again, Renew always rotates. The absolute lifetime
// restarts from now. Rotate the CSRF token too (csrf.Rotate), as Django's
// login does.
func Renew(r *http.Request) error {
	return change(r, func(st *state) error {
		if err := st.dropRecord(); err != nil {
			return err
		}
		st.rec.created = st.m.now().Unix()
		st.modified = true
		return nil
	})
}

// Flush deletes the session: its data, its record (at once, so a copy of
// the cookie stops working even if this response is lost) and, at the end
// of the request, the cookie (Django's flush, called by logout). Values
// put after Flush start a new session with a new id.
func Flush(r *http.Request) error {
	return change(r, func(st *state) error {
		if err := st.dropRecord(); err != nil {
			return err
		}
		st.rec = record{created: st.m.now().Unix()}
		st.modified = true
		return nil
	})
}

// dropRecord deletes (or revokes) the current record and forgets its id.
// A failure fails the request: a logout that did not reach the store must
// not look successful. The caller holds st.mu.
func (st *state) dropRecord() error {
	if st.key != "" {
		var err error
		if st.m.store != nil {
			err = st.m.store.Delete(st.storeCtx(), st.key)
		} else {
			err = st.m.cookies.Revoke(st.storeCtx(), st.key)
		}
		st.call.end()
		if err != nil {
			st.fail("delete_failed", err)
			return st.err
		}
	}
	st.id, st.key = "", ""
	return nil
}

// SetExpiry sets this session's expiry (Django's set_expiry); the zero
// Expiry restores the Manager's defaults.
func SetExpiry(r *http.Request, e Expiry) error {
	st, err := stateOf(r)
	if err != nil {
		return err
	}
	if e.Idle < 0 {
		return fmt.Errorf("session: negative idle timeout %v", e.Idle)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := st.mutable(); err != nil {
		return err
	}
	st.rec.custom = !e.isZero()
	st.rec.exp = e
	st.modified = true
	return nil
}

// Err returns the store failure that will turn this response into a 503,
// or nil. Handlers that must not act on a session they could not read
// (Get reported false) check it.
func Err(r *http.Request) error {
	st, err := stateOf(r)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// encode returns v as JSON; strings, integers and booleans without
// reflection.
func encode(v any) (string, error) {
	switch x := v.(type) {
	case string:
		if plainString(x) {
			return `"` + x + `"`, nil
		}
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// plainString reports whether s is printable ASCII needing no JSON escape
// (encoding/json would also escape <, > and &).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// fastDecode decodes strings, integers and booleans without reflection,
// reporting false for anything it does not handle.
func fastDecode(raw string, v any) bool {
	switch p := v.(type) {
	case *string:
		if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && !strings.ContainsAny(raw[1:len(raw)-1], `"\`) {
			*p = raw[1 : len(raw)-1]
			return true
		}
	case *int:
		if n, err := strconv.Atoi(raw); err == nil {
			*p = n
			return true
		}
	case *int64:
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			*p = n
			return true
		}
	case *bool:
		switch raw {
		case "true":
			*p = true
			return true
		case "false":
			*p = false
			return true
		}
	}
	return false
}
