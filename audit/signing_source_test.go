package audit_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
)

const strongKey = "k7Qe2Lr9vT4mXc1ZpB8sWn6yHd3FgJ0aUo5iKlNqRtEwYxCvM-_"

// TestCheckSigningSources lints the key a [signing] section names,
// as Django's W009 and W025 lint SECRET_KEY and its fallbacks.
func TestCheckSigningSources(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	strong := write("strong", strongKey+"\n")
	short := write("short", "tooshort\n")
	placeholder := write("placeholder", "django-insecure-changeme-"+strongKey)
	empty := write("empty", "")
	t.Setenv("BW_TEST_STRONG_KEY", strongKey)
	t.Setenv("BW_TEST_WEAK_KEY", strings.Repeat("ab", 40))
	tests := []struct {
		name string
		sc   bulwark.SigningConfig
		skip bool
		want []string // finding IDs with their keys, "ID key"
	}{
		{"none", bulwark.SigningConfig{}, false, nil},
		{"strong file", bulwark.SigningConfig{SecretKeyFile: strong}, false, nil},
		{"strong env", bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_STRONG_KEY"}, false, nil},
		{"short file", bulwark.SigningConfig{SecretKeyFile: short}, false, []string{"BW024 signing.secret_key_file"}},
		{"placeholder file", bulwark.SigningConfig{SecretKeyFile: placeholder}, false, []string{"BW024 signing.secret_key_file"}},
		{"few distinct characters", bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_WEAK_KEY"}, false, []string{"BW024 signing.secret_key_env"}},
		{"weak fallback", bulwark.SigningConfig{SecretKeyFile: strong, FallbackKeyFiles: []string{short}}, false, []string{"BW025 signing.fallback_key_files[0]"}},
		{"weak fallback env", bulwark.SigningConfig{SecretKeyFile: strong, FallbackKeyEnvs: []string{"BW_TEST_WEAK_KEY"}}, false, []string{"BW025 signing.fallback_key_envs[0]"}},
		{"missing file", bulwark.SigningConfig{SecretKeyFile: filepath.Join(dir, "nope")}, false, []string{"BW042 signing.secret_key_file"}},
		{"empty file", bulwark.SigningConfig{SecretKeyFile: empty}, false, []string{"BW042 signing.secret_key_file"}},
		{"unset env", bulwark.SigningConfig{SecretKeyEnv: "BW_TEST_UNSET_KEY"}, false, []string{"BW043 signing.secret_key_env"}},
		{"files skipped", bulwark.SigningConfig{SecretKeyFile: filepath.Join(dir, "nope")}, true, []string{"BW114 <files>"}},
		{"both sources", bulwark.SigningConfig{SecretKeyFile: strong, SecretKeyEnv: "BW_TEST_STRONG_KEY"}, false, []string{"BW001 signing"}},
		{"fallback without key", bulwark.SigningConfig{FallbackKeyEnvs: []string{"BW_TEST_STRONG_KEY"}}, false, []string{"BW001 signing"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := hardened()
			d.Config.Signing = tc.sc
			d.SkipFiles = tc.skip
			var got []string
			for _, f := range audit.CheckDeployment(d) {
				got = append(got, f.ID+" "+f.Key)
				if strings.Contains(f.Message, strongKey) || strings.Contains(f.Message, "tooshort") {
					t.Errorf("a finding quotes the key: %v", f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
