package archtest_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/bulwarkdev/bulwark"

// forbidden are import-path prefixes of database and network drivers. A
// path matches when it equals a prefix or continues it with "/".
var forbidden = []string{
	"database/sql", // the core speaks to no database, driver or not
	"github.com/redis",
	"github.com/gomodule/redigo",
	"github.com/jackc",
	"github.com/lib/pq",
	"github.com/go-sql-driver",
	"github.com/mattn/go-sqlite3",
	"modernc.org/sqlite",
	"github.com/ncruces/go-sqlite3",
	"zombiezen.com/go/sqlite",
	"go.mongodb.org",
	"github.com/bradfitz/gomemcache",
	"github.com/nats-io",
	"github.com/rabbitmq",
}

// exempt reports whether pkg may import drivers: the stores themselves,
// internal packages (test services, the gateway's assembly) and commands.
func exempt(pkg string) bool {
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	switch {
	case strings.HasPrefix(rel, "internal/"), strings.HasPrefix(rel, "cmd/"):
		return true
	}
	for _, store := range []string{"sqlitestore", "redisstore", "pgstore"} {
		if rel == "session/"+store || strings.HasPrefix(rel, "session/"+store+"/") {
			return true
		}
	}
	for _, store := range []string{"ratelimit/redisstore", "ratelimit/pgstore"} {
		if rel == store || strings.HasPrefix(rel, store+"/") {
			return true
		}
	}
	return false
}

func isForbidden(dep string) bool {
	for _, f := range forbidden {
		if dep == f || strings.HasPrefix(dep, f+"/") {
			return true
		}
	}
	return false
}

// deps lists every package of the module with its transitive
// dependencies, from "go list -deps" run once over the module.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	// go test puts its own GOROOT/bin first in PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command in PATH: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-e", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	m := make(map[string][]string)
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCoreImportsNoDriver(t *testing.T) {
	all := deps(t)
	var core []string
	for pkg := range all {
		if !exempt(pkg) {
			core = append(core, pkg)
		}
	}
	slices.Sort(core)
	// The test must be looking at the real module: these exist from the
	// start and are core.
	for _, want := range []string{module, module + "/trustedproxy", module + "/session", module + "/session/sessiontest"} {
		if !slices.Contains(core, want) {
			t.Fatalf("go list found no %s among %q", want, core)
		}
	}
	// And the exemption must not be empty-handed either: the stores
	// really do import drivers, which is what this test would catch.
	if !slices.ContainsFunc(all[module+"/session/sqlitestore"], isForbidden) {
		t.Fatalf("session/sqlitestore shows no driver dependency: the check is blind")
	}
	for _, pkg := range core {
		for _, d := range all[pkg] {
			if isForbidden(d) {
				t.Errorf("%s depends on %s: core packages must not import database or network drivers", pkg, d)
			}
		}
	}
	t.Logf("checked %d core packages", len(core))
}

func TestTrustedProxyImportsOnlyTheRecord(t *testing.T) {
	all := deps(t)
	tp := module + "/trustedproxy"
	d, ok := all[tp]
	if !ok {
		t.Fatalf("go list found no %s", tp)
	}
	// Only the layer below it: the per-request record and the refusal
	// event. No package above it (hosts, limits, session, csrf...).
	below := []string{module + "/internal/reqstate", module + "/internal/refusal"}
	for _, dep := range d {
		if (dep == module || strings.HasPrefix(dep, module+"/")) && !slices.Contains(below, dep) {
			t.Errorf("trustedproxy depends on %s; it must import nothing of the module but %q", dep, below)
		}
	}
}

func TestExempt(t *testing.T) {
	for pkg, want := range map[string]bool{
		module:                          false,
		module + "/session":             false,
		module + "/session/sessiontest": false,
		module + "/session/memstore":    false,
		module + "/session/sqlitestore": true,
		module + "/session/redisstore":  true,
		module + "/session/pgstore":     true,
		module + "/session/pgstorefake": false,
		module + "/internal/testsvc":    true,
		module + "/cmd/bulwark":         true,
		module + "/csrf":                false,
		module + "/internalstuff":       false,
	} {
		if got := exempt(pkg); got != want {
			t.Errorf("exempt(%s) = %v, want %v", pkg, got, want)
		}
	}
	for pkg, want := range map[string]bool{
		module + "/ratelimit":                false,
		module + "/ratelimit/ratelimittest":  false,
		module + "/ratelimit/redisstore":     true,
		module + "/ratelimit/pgstore":        true,
		module + "/ratelimit/redisstorefake": false,
	} {
		if got := exempt(pkg); got != want {
			t.Errorf("exempt(%s) = %v, want %v", pkg, got, want)
		}
	}
	for dep, want := range map[string]bool{
		"database/sql":                   true,
		"database/sql/driver":            true,
		"github.com/redis/go-redis/v9":   true,
		"github.com/jackc/pgx/v5/pgconn": true,
		"modernc.org/sqlite":             true,
		"modernc.org/sqlite/lib":         true,
		"modernc.org/libc":               false,
		"github.com/redisx/other":        false,
		"net/http":                       false,
	} {
		if got := isForbidden(dep); got != want {
			t.Errorf("isForbidden(%s) = %v, want %v", dep, got, want)
		}
	}
}
