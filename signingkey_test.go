package bulwark_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulwarkdev/bulwark"
)

func TestSigningConfigLoad(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("file-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BW_TEST_FALLBACK", "env-fallback")
	cfg, err := bulwark.ParseConfig([]byte("[signing]\nsecret_key_file = \"" + filepath.ToSlash(keyFile) + "\"\nfallback_key_envs = [\"BW_TEST_FALLBACK\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := cfg.Signing.Load()
	if err != nil {
		t.Fatal(err)
	}
	if string(sc.Key) != "file-key" || len(sc.FallbackKeys) != 1 || string(sc.FallbackKeys[0]) != "env-fallback" {
		t.Errorf("loaded %q, %q", sc.Key, sc.FallbackKeys)
	}

	// The key itself is no configuration key.
	if _, err := bulwark.ParseConfig([]byte("[signing]\nsecret_key = \"hunter2\"\n")); !errors.Is(err, bulwark.ErrUnknownKey) {
		t.Errorf("secret_key in the file: %v, want an unknown-key error", err)
	}

	for _, tc := range []struct {
		name string
		sc   bulwark.SigningConfig
		err  bool
	}{
		{"unset variable", bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_UNSET"}, true},
		{"missing file", bulwark.SigningConfig{SecretKeyFile: filepath.Join(dir, "nope")}, true},
		{"both", bulwark.SigningConfig{SecretKeyFile: keyFile, SecretKeyEnv: "BW_TEST_FALLBACK"}, true},
		{"bad variable name", bulwark.SigningConfig{SecretKeyEnv: "A B"}, true},
		{"env", bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_FALLBACK"}, false},
	} {
		if _, err := tc.sc.Load(); (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if _, err := (bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_UNSET"}).Load(); !errors.Is(err, bulwark.ErrNoSigningKey) {
		t.Errorf("unset variable: %v, want ErrNoSigningKey", err)
	}

	// New refuses an ill-formed section, without reading any key.
	c := bulwark.Config{}
	c.Hosts.Allowed = []string{"example.com"}
	c.Signing = bulwark.SigningConfig{SecretKeyFile: keyFile, SecretKeyEnv: "X"}
	if err := c.Validate(); err == nil {
		t.Error("New accepted two key sources")
	}
	c.Signing = bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_UNSET"}
	if err := c.Validate(); err != nil {
		t.Errorf("New read the key: %v", err)
	}
}
