package audit

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/session"
)

// placeholderStore stands for the session store a program sets in Go,
// which a configuration file cannot name: Check validates the file as
// bulwark.New will see it once the store is set. It is never used.
type placeholderStore struct{}

func (placeholderStore) Find(context.Context, string) ([]byte, bool, error) { return nil, false, nil }
func (placeholderStore) Commit(context.Context, string, []byte, time.Time) error {
	return nil
}
func (placeholderStore) Delete(context.Context, string) error { return nil }

var _ session.Store = placeholderStore{}

// withGoStore returns cfg with a placeholder session store when the file
// configures sessions (or CSRF in the session) without one, and whether
// it did: the store's presence is the program's business (BW041).
func withGoStore(cfg bulwark.Config) (bulwark.Config, bool) {
	if cfg.Session.Store != nil || cfg.Session.CookieStore != nil {
		return cfg, false
	}
	probe := cfg
	probe.Session.Store = placeholderStore{}
	without, with := errorSet(cfg.Validate()), errorSet(probe.Validate())
	for e := range without {
		if !with[e] {
			return probe, true // the store was missing for some section
		}
	}
	return cfg, false
}

// errorSet lists the messages of a (joined) error.
func errorSet(err error) map[string]bool {
	set := map[string]bool{}
	if err == nil {
		return set
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		set[e.Error()] = true
	}
	return set
}

// isFileError reports whether err comes from reading a file or directory
// the configuration names (an *fs.PathError anywhere in its chain).
// A joined error counts only when every part of it does.
func isFileError(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !isFileError(e) {
				return false
			}
		}
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe)
}

// checkSigningSources reads the [signing] key sources and lints the keys
// (BW024, BW025); a source that cannot be read is BW042, an environment
// variable not set where the check runs is BW043. With skipFiles, key
// files are not read.
func checkSigningSources(fs *[]Finding, c bulwark.SigningConfig, skipFiles bool, skipped *[]string) {
	if !c.Configured() {
		return
	}
	if err := c.Validate(); err != nil {
		f := find("BW001", "[signing]: "+err.Error())
		f.Key = "signing"
		*fs = append(*fs, f)
		return
	}
	for i, src := range c.Sources() {
		if src.File != "" && skipFiles {
			*skipped = append(*skipped, src.Key)
			continue
		}
		k, err := src.Read()
		switch {
		case err != nil && src.Env != "":
			f := findf("BW043", "%s is not set where the check runs", src)
			f.Key = src.Key
			*fs = append(*fs, f)
			continue
		case err != nil:
			f := find("BW042", err.Error())
			f.Key = src.Key
			*fs = append(*fs, f)
			continue
		}
		if why := keyWeakness(k); why != "" {
			id := "BW024"
			if i > 0 || src.Key != "signing.secret_key_file" && src.Key != "signing.secret_key_env" {
				id = "BW025"
			}
			f := findf(id, "the key in %s %s", src, why)
			f.Key = src.Key
			*fs = append(*fs, f)
		}
	}
}

// placeholders are words of keys copied from examples and templates.
var placeholders = []string{
	"changeme", "change-me", "change_me", "changethis", "replace-me", "replace_me", "replaceme",
	"your-secret", "your_secret", "yoursecret", "secret-key-here", "secret_key_here",
	"placeholder", "insecure", "example", "dummy", "notasecret", "not-a-secret", "xxxxxxxx",
}

// keyWeakness says why a key is weak (Django's W009 rule: fewer than 50
// characters, fewer than 5 distinct characters, a development key; plus
// a known placeholder word), or "".
func keyWeakness(k []byte) string {
	lk := strings.ToLower(string(k))
	for _, p := range placeholders {
		if strings.Contains(lk, p) {
			return fmt.Sprintf("contains the placeholder %q", p)
		}
	}
	if weakKey(k) {
		return "has fewer than 50 characters or fewer than 5 distinct ones, or is a development key"
	}
	return ""
}
