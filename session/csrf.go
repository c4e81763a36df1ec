package session

import "net/http"

// csrfKey is where the CSRF secret lives in the session, Django's
// CSRF_SESSION_KEY.
const csrfKey = "_csrftoken"

// CSRFSecret returns the CSRF secret stored in the request's session, or
// "" when none is (csrf.SessionSecrets, Django's CSRF_USE_SESSIONS). An
// error means the session could not be read: the CSRF layer must refuse.
func (m *Manager) CSRFSecret(r *http.Request) (string, error) {
	st, err := stateOf(r)
	if err != nil {
		return "", err
	}
	st.mu.Lock()
	raw, ok := st.get(csrfKey)
	err = st.err
	st.mu.Unlock()
	if err != nil || !ok {
		return "", err
	}
	s, ok := decodeAs[string](raw)
	if !ok {
		return "", nil // not a string: as if none, a new one is made
	}
	return s, nil
}

// SetCSRFSecret stores the CSRF secret in the session; it is saved with
// the session when the response starts.
func (m *Manager) SetCSRFSecret(r *http.Request, secret string) error {
	return Put(r, csrfKey, secret)
}
