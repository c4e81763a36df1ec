package bulwark

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/bulwarkdev/bulwark/signing"
)

// SigningConfig is the [signing] section: where the secret key (Django's
// SECRET_KEY) and the fallback keys (SECRET_KEY_FALLBACKS) are read from.
// The key itself never appears in the configuration file, which is
// usually committed: a file readable only by the service, or an
// environment variable set by the service manager.
type SigningConfig struct {
	// SecretKeyFile is a file holding the key (one trailing newline is
	// ignored). Set at most one of SecretKeyFile and SecretKeyEnv.
	SecretKeyFile string `toml:"secret_key_file"`
	// SecretKeyEnv is the name of an environment variable holding the
	// key ("BULWARK_SECRET_KEY").
	SecretKeyEnv string `toml:"secret_key_env"`
	// FallbackKeyFiles and FallbackKeyEnvs hold earlier keys, still
	// accepted when verifying during a rotation, files first. They need
	// a key.
	FallbackKeyFiles []string `toml:"fallback_key_files"`
	FallbackKeyEnvs  []string `toml:"fallback_key_envs"`
}

// ErrNoSigningKey is returned (wrapped) by SigningConfig.Load when a named
// key source is empty: an unset environment variable or an empty file.
var ErrNoSigningKey = errors.New("bulwark: no signing key")

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Configured reports whether the section names any key source.
func (c SigningConfig) Configured() bool {
	return c.SecretKeyFile != "" || c.SecretKeyEnv != "" || len(c.FallbackKeyFiles) > 0 || len(c.FallbackKeyEnvs) > 0
}

// Validate checks the section's shape without reading any key.
func (c SigningConfig) Validate() error {
	if c.SecretKeyFile != "" && c.SecretKeyEnv != "" {
		return errors.New("secret_key_file and secret_key_env are both set: name one source")
	}
	if (len(c.FallbackKeyFiles) > 0 || len(c.FallbackKeyEnvs) > 0) && c.SecretKeyFile == "" && c.SecretKeyEnv == "" {
		return errors.New("fallback keys need a key: set secret_key_file or secret_key_env")
	}
	for _, e := range append([]string{c.SecretKeyEnv}, c.FallbackKeyEnvs...) {
		if e != "" && !envName.MatchString(e) {
			return fmt.Errorf("%q is not an environment variable name", e)
		}
	}
	for _, f := range c.FallbackKeyFiles {
		if f == "" {
			return errors.New("fallback_key_files has an empty path")
		}
	}
	return nil
}

// Source names one key source, for messages: "file /run/secrets/key" or
// "environment variable BULWARK_SECRET_KEY".
type Source struct {
	// Key is the configuration key that names it
	// ("signing.secret_key_file", "signing.fallback_key_envs[0]").
	Key string
	// File or Env is the source.
	File, Env string
}

func (s Source) String() string {
	if s.File != "" {
		return "file " + s.File
	}
	return "environment variable " + s.Env
}

// Sources lists the key source first, then the fallbacks, files first.
func (c SigningConfig) Sources() []Source {
	var out []Source
	switch {
	case c.SecretKeyFile != "":
		out = append(out, Source{Key: "signing.secret_key_file", File: c.SecretKeyFile})
	case c.SecretKeyEnv != "":
		out = append(out, Source{Key: "signing.secret_key_env", Env: c.SecretKeyEnv})
	}
	for i, f := range c.FallbackKeyFiles {
		out = append(out, Source{Key: fmt.Sprintf("signing.fallback_key_files[%d]", i), File: f})
	}
	for i, e := range c.FallbackKeyEnvs {
		out = append(out, Source{Key: fmt.Sprintf("signing.fallback_key_envs[%d]", i), Env: e})
	}
	return out
}

// Read returns the key a source holds: the file's content without one
// trailing newline, or the variable's value. An unset variable or an
// empty file wraps ErrNoSigningKey.
func (s Source) Read() ([]byte, error) {
	var k string
	if s.File != "" {
		b, err := os.ReadFile(s.File)
		if err != nil {
			return nil, fmt.Errorf("bulwark: %s: %w", s.Key, err)
		}
		k = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	} else {
		k = os.Getenv(s.Env)
	}
	if k == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrNoSigningKey, s)
	}
	return []byte(k), nil
}

// Load reads the key and the fallback keys into a signing.Config (its
// other fields zero), for signing.New.
func (c SigningConfig) Load() (signing.Config, error) {
	if err := c.Validate(); err != nil {
		return signing.Config{}, &sectionError{section: "signing", err: err}
	}
	var sc signing.Config
	for i, s := range c.Sources() {
		k, err := s.Read()
		if err != nil {
			return signing.Config{}, err
		}
		if i == 0 {
			sc.Key = k
		} else {
			sc.FallbackKeys = append(sc.FallbackKeys, k)
		}
	}
	return sc, nil
}
