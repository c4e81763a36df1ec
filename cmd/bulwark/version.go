package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// version is set at link time (-ldflags "-X main.version=v1.2.3"); otherwise
// the module version and the VCS information that "go build" and "go
// install" record from a clone are printed.
var version = ""

func runVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "bulwark version: unexpected argument %q\n", args[0])
		return 2
	}
	bi, _ := debug.ReadBuildInfo()
	fmt.Fprintf(stdout, "bulwark %s\n", versionString(version, bi))
	return 0
}

// versionString describes the build: "v1.2.3" when set at link time, else
// the module version (a tagged release installed by module path, or
// "(devel)" from a clone), the commit, its time and "+dirty" when the
// working tree had changes (from the build's VCS stamp: a clone built
// with go build or go install), then the Go version.
func versionString(linked string, bi *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if bi == nil {
		return "(devel)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	var b strings.Builder
	b.WriteString(v)
	if rev != "" {
		b.WriteString(" (")
		b.WriteString(rev[:min(12, len(rev))])
		if at != "" {
			b.WriteString(", " + at)
		}
		if dirty {
			b.WriteString(", +dirty")
		}
		b.WriteString(")")
	}
	if bi.GoVersion != "" {
		b.WriteString(" " + bi.GoVersion)
	}
	return b.String()
}

// buildVersion is versionString for the running binary: what "bulwark
// version" prints and what reports name as their tool.
func buildVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionString(version, bi)
}
