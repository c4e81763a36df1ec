package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/localca"
)

// runCert makes a certificate for "bulwark serve" on a development or
// staging host: "bulwark cert [--dir DIR] NAME...". A private CA limited
// by name constraints to exactly NAME... (the demo's CA code) signs a
// 90-day leaf; running it again reuses the CA, so a browser or system
// that trusts it once keeps trusting the renewed leaves.
func runCert(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "`directory` for the CA and the certificate (default: $XDG_STATE_HOME/bulwark-cert/NAME or ~/.local/state/bulwark-cert/NAME)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bulwark cert [--dir DIR] NAME...\n\n"+
			"Makes a TLS certificate for bulwark serve on a development or staging host,\n"+
			"signed by a private CA whose name constraints let it sign only for NAME...\n"+
			"(DNS names, each with the names below it, and IP addresses): trusting it\n"+
			"lets its key impersonate no other site. Running it again reuses the CA and\n"+
			"renews the certificate when less than 30 days remain.\n\n"+
			"Not for a public site: use ACME ([tls.acme]) there.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	names := fs.Args()
	if len(names) == 0 {
		fmt.Fprintln(stderr, "bulwark cert: name the host (for example: bulwark cert staging.example.internal 192.0.2.10)")
		return 2
	}
	c, err := localca.ConstraintsFor(names...)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark cert: %v\n", err)
		return 2
	}
	d := *dir
	if d == "" {
		base := stateDir("bulwark-cert")
		if base == "" {
			fmt.Fprintln(stderr, "bulwark cert: no directory: set --dir, $XDG_STATE_HOME or $HOME")
			return 2
		}
		d = filepath.Join(base, strings.NewReplacer(":", "_", "/", "_").Replace(strings.ToLower(names[0])))
	}
	ca, err := localca.OpenConstrained(d, c)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark cert: %v\n", err)
		if errors.Is(err, localca.ErrForeignCA) {
			fmt.Fprintf(stderr, "bulwark cert: hint: %s holds a CA for other names; give another --dir\n", d)
		}
		return 1
	}
	leaf, err := ca.Issue(names...)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark cert: %v\n", err)
		return 1
	}
	state := "reused (still valid)"
	if leaf.Created {
		state = "made"
	}
	fmt.Fprintf(stdout, "Certificate for %s %s, valid until %s.\n\n", strings.Join(names, ", "), state,
		leaf.Certificate.Leaf.NotAfter.UTC().Format("2006-01-02"))
	fmt.Fprintf(stdout, "In bulwark.toml:\n\n[tls]\ncert_file = %q\nkey_file = %q\n\n", leaf.CertFile, leaf.KeyFile)
	fmt.Fprintf(stdout, "Trust the CA on the machines that visit the host (it can sign only for\nthe names above):\n\n")
	fmt.Fprintf(stdout, "  CA          %s\n  SHA-256     %s\n", ca.CertFile(), ca.Fingerprint())
	fmt.Fprintf(stdout, "  curl        curl --cacert %s https://%s/\n", ca.CertFile(), names[0])
	fmt.Fprintf(stdout, "  Debian      sudo cp %s /usr/local/share/ca-certificates/bulwark-%s.crt && sudo update-ca-certificates\n",
		ca.CertFile(), filepath.Base(d))
	if ca.Created() {
		fmt.Fprintf(stdout, "\nThe CA is new: machines that trusted an earlier one must trust this one.\n")
	}
	return 0
}
