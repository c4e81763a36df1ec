package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/bulwarkdev/bulwark/internal/demo"
)

const demoUsage = `Usage: bulwark demo [flags]

Runs a sample app behind the Bulwark gateway on loopback, with a local CA
and certificates it makes itself: HTTPS, the HTTP redirect, HSTS, security
headers with a CSP nonce, host validation, sessions, CSRF tokens, upload
inspection and a separate media host. Nothing to install or configure.

State (the CA, certificates, sessions, uploads) is kept in --state, so a CA
you trust once keeps working on later runs.

Flags:
`

// runDemo is "bulwark demo": flags, signals, one call to demo.Run.
func runDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, demoUsage)
		fs.PrintDefaults()
	}
	state := fs.String("state", defaultStateDir(), "state `directory` (CA, certificates, sessions, uploads)")
	ports := fs.String("ports", "8080,8443", "`HTTP,HTTPS` ports on loopback (0 picks a free port; 80,443 needs privileges)")
	hsts := fs.Duration("hsts-max-age", demo.DefaultHSTSMaxAge, "HSTS max-age; HSTS covers every port of localhost in your browser, so keep it short unless you mean it")
	verbose := fs.Bool("v", false, "log every request (access log) and debug events")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	httpPort, httpsPort, err := parsePorts(*ports)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark demo: %v\n", err)
		return 2
	}
	if *state == "" {
		fmt.Fprintln(stderr, "bulwark demo: no state directory: set --state, $XDG_STATE_HOME or $HOME")
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = demo.Run(ctx, demo.Options{
		StateDir:   *state,
		HTTPAddr:   "127.0.0.1:" + strconv.Itoa(httpPort),
		HTTPSAddr:  "127.0.0.1:" + strconv.Itoa(httpsPort),
		HSTSMaxAge: *hsts,
		Logger:     logger,
		AccessLog:  *verbose,
		Out:        stdout,
	})
	if err != nil {
		fmt.Fprintf(stderr, "bulwark: %v\n", err)
		if errors.Is(err, demo.ErrPortInUse) || errors.Is(err, demo.ErrPortDenied) {
			fmt.Fprintln(stderr, "hint: choose other ports with --ports HTTP,HTTPS (0,0 picks free ones)")
		}
		return 1
	}
	return 0
}

// parsePorts reads "HTTP,HTTPS".
func parsePorts(s string) (http, https int, err error) {
	a, b, ok := strings.Cut(s, ",")
	if !ok {
		return 0, 0, fmt.Errorf("--ports %q: want HTTP,HTTPS (for example 8080,8443)", s)
	}
	http, err1 := strconv.Atoi(strings.TrimSpace(a))
	https, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || http < 0 || https < 0 || http > 65535 || https > 65535 {
		return 0, 0, fmt.Errorf("--ports %q: ports must be numbers from 0 to 65535", s)
	}
	if http == https && http != 0 {
		return 0, 0, fmt.Errorf("--ports %q: HTTP and HTTPS need different ports", s)
	}
	return http, https, nil
}

// defaultStateDir is the demo's state directory (see stateDir).
func defaultStateDir() string { return stateDir("bulwark-demo") }

// stateDir follows the XDG base directory spec: state that should persist
// between runs but is not worth backing up, in $XDG_STATE_HOME/name or
// ~/.local/state/name; "" when neither is known.
func stateDir(name string) string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, name)
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", name)
	}
	return ""
}
