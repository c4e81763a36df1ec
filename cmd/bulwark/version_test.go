package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionString(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		name, linked string
		bi           *debug.BuildInfo
		want         string
	}{
		{"linked", "v1.2.3", &debug.BuildInfo{GoVersion: "go1.26.0"}, "v1.2.3"},
		{"no build info", "", nil, "(devel)"},
		{"a clone", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs", "git", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-03T10:00:00Z", "vcs.modified", "false")},
			"(devel) (0123456789ab, 2026-12-03T10:00:00Z) go1.26.0"},
		{"a dirty clone", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "abc", "vcs.modified", "true")},
			"(devel) (abc, +dirty) go1.26.0"},
		{"a release", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0 go1.26.0"},
	} {
		if got := versionString(tc.linked, tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestInstallFromClone installs the command as the README says (go
// install ./cmd/bulwark from a clone, into a temporary GOBIN) and runs
// "bulwark version", which names the commit when the clone has a .git
// directory (cmd/go stamps VCS information from one; a git worktree, whose
// .git is a file, builds unstamped).
func TestInstallFromClone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	gobin := t.TempDir()
	install := exec.Command("go", "install", "-buildvcs=auto", ".")
	install.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if b, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, b)
	}
	got, err := exec.Command(filepath.Join(gobin, "bulwark"), "version").Output()
	if err != nil || !strings.HasPrefix(string(got), "bulwark ") {
		t.Fatalf("bulwark version: %q %v", got, err)
	}
	fi, err := os.Stat("../../.git")
	if err != nil || !fi.IsDir() {
		return
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("git: %v", err)
	}
	if h := strings.TrimSpace(string(head)); !strings.Contains(string(got), "("+h[:12]) {
		t.Errorf("bulwark version = %q, want the commit %s", got, h[:12])
	}
}
