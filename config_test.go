package bulwark_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/session/memstore"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/config")

// TestConfigGolden pairs every testdata/config/*.toml with its effective
// configuration (validated, defaults filled in), or with the error it
// produces, in the .golden file beside it. Run with -update to rewrite.
func TestConfigGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "config", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configuration examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			var got bytes.Buffer
			c, err := bulwark.LoadConfig(file)
			if err == nil {
				withGoValues(t, file, &c)
				c, err = c.Effective()
			}
			if err != nil {
				got.WriteString("# error\n")
				for _, line := range strings.Split(err.Error(), "\n") {
					got.WriteString("# " + line + "\n")
				}
			} else if err := toml.NewEncoder(&got).Encode(c); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".toml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestConfigGolden -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("effective configuration of %s differs from %s:\n--- got\n%s\n--- want\n%s", file, golden, got.String(), want)
			}
			// The effective configuration is itself a valid configuration
			// that means the same thing.
			if !strings.HasPrefix(got.String(), "# error") {
				again, err := bulwark.ParseConfig(got.Bytes())
				if err != nil {
					t.Fatalf("effective configuration does not load: %v", err)
				}
				withGoValues(t, file, &again)
				eff, err := again.Effective()
				if err != nil {
					t.Fatalf("effective configuration is invalid: %v", err)
				}
				var round bytes.Buffer
				toml.NewEncoder(&round).Encode(eff)
				if round.String() != got.String() {
					t.Errorf("effective configuration is not a fixed point:\n%s", round.String())
				}
			}
		})
	}
}

// withGoValues adds to the configuration of an example file what only Go
// can give it: the session store of full.toml.
func withGoValues(t *testing.T, file string, c *bulwark.Config) {
	c.Logger = quiet
	if filepath.Base(file) == "full.toml" {
		store, err := memstore.New(memstore.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.Session.Store = store
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name, toml string
		want       string
		unknown    bool
	}{
		{"typo", "[hosts]\nallowed = [\"a.example\"]\nalowed = [\"b.example\"]\n", `bulwark: line 3: unknown key "hosts.alowed"`, true},
		{"unknown section", "[host]\nallowed = []\n", `bulwark: line 1: unknown key "host"`, true},
		{"unknown nested", "[https]\nhsts_preload = true\n\n[[headers.csp]]\nname = \"img-src\"\nvalue = [\"'self'\"]\n", `bulwark: line 6: unknown key "headers.csp.value"`, true},
		{"dotted key", "hosts.allowed = [\"a\"]\nhttps.hsts_max_age = \"1h\"\nhttps.hsts_maxage = \"1h\"\n", `bulwark: line 3: unknown key "https.hsts_maxage"`, true},
		{"wrong type", "[hosts]\nallowed = \"example.com\"\n", `bulwark: line 2: key "hosts.allowed": incompatible types`, false},
		{"number for a string", "[https]\nssl_host = 443\n", `bulwark: line 2: key "https.ssl_host"`, false},
		{"duration as number", "[https]\nhsts_max_age = 31536000\n", `bulwark: line 2: key "https.hsts_max_age": a duration must be a string`, false},
		{"bad duration", "[https]\nhsts_max_age = \"1 year\"\n", `bulwark: line 2: `, false},
		{"syntax", "[hosts]\nallowed = [\"a\"\n", `bulwark: line `, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bulwark.ParseConfig([]byte(tt.toml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want prefix %q", err, tt.want)
			}
			var ce *bulwark.ConfigError
			if !errors.As(err, &ce) || ce.Line == 0 {
				t.Errorf("error %v is not a ConfigError with a line", err)
			}
			if got := errors.Is(err, bulwark.ErrUnknownKey); got != tt.unknown {
				t.Errorf("errors.Is(ErrUnknownKey) = %v, want %v", got, tt.unknown)
			}
		})
	}
}

func TestLoadConfigNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	os.WriteFile(path, []byte("[hosts]\nallowed = [\"example.com\"]\n\n\n\n\n\n\n\n\n\nalowed = 1\n"), 0o600)
	_, err := bulwark.LoadConfig(path)
	if want := "bulwark: " + path + ":12: unknown key \"hosts.alowed\""; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if _, err := bulwark.LoadConfig(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestNewReportsEverySection(t *testing.T) {
	_, err := bulwark.New(bulwark.Config{
		Hosts:   hostsConfig("example.com:443"),
		HTTPS:   httpsPreloadAlone(),
		Headers: headersBadFrame(),
	})
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{"bulwark: [hosts] ", "bulwark: [https] ", "bulwark: [headers] "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
