package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/audit"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runScan audits a live site: "bulwark scan URL [--json | --html FILE]
// [--ca FILE] [--resolve host:addr] [--post PATH] [--http-url URL]".
// Exit status 0: no finding at or above --fail-on; 1: at least one; 2:
// usage error, or the site could not be scanned.
func runScan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	htmlFile := fs.String("html", "", "also write an HTML report to `file`")
	caFile := fs.String("ca", "", "trust the CA certificates in this PEM `file` instead of the system's")
	httpURL := fs.String("http-url", "", "plain-HTTP `URL` probed for the redirect (default: the host on port 80)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit per request")
	failOn := fs.String("fail-on", "error", "exit 1 when a finding is at least this `severity` (error, warning or info)")
	var resolve, posts listFlag
	fs.Var(&resolve, "resolve", "connect to `host:addr` instead of resolving host (addr may carry a port; curl's host:port:addr works too); repeatable")
	fs.Var(&posts, "post", "send the CSRF probes (cross-site and same-origin POSTs) to this `path`; repeatable. POSTs may change state: name only paths where that is harmless")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bulwark scan URL [--json | --html FILE] [--ca FILE] [--resolve host:addr] [--post PATH]\n\n"+
			"Audits a running site from outside: HTTP->HTTPS redirect, HSTS and preload\n"+
			"eligibility, security headers, cookies, host-header injection, CSRF origin\n"+
			"handling (only on --post paths) and TLS. Only the URL's host is contacted.\n\n"+
			"Exit status: 0 clean, 1 a finding at or above --fail-on, 2 usage error or site unreachable.\n\n")
		fs.PrintDefaults()
	}
	// Flags may come before or after the URL.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "usage: bulwark scan URL [flags] (bulwark scan -h for help)\n")
		return 2
	}
	if *asJSON && *htmlFile == "-" {
		fmt.Fprintf(stderr, "bulwark scan: --json and --html - both write to standard output\n")
		return 2
	}
	threshold, err := audit.ParseSeverity(*failOn)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark scan: --fail-on: %v\n", err)
		return 2
	}
	opts := audit.ScanOptions{HTTPURL: *httpURL, PostPaths: posts, Timeout: *timeout}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark scan: %v\n", err)
			return 2
		}
		opts.RootCAs = x509.NewCertPool()
		if !opts.RootCAs.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "bulwark scan: %s: no PEM certificate found\n", *caFile)
			return 2
		}
	}
	for _, r := range resolve {
		host, addr, ok := strings.Cut(r, ":")
		if !ok || host == "" || addr == "" {
			fmt.Fprintf(stderr, "bulwark scan: --resolve %q: want host:addr (e.g. example.com:127.0.0.1 or example.com:127.0.0.1:8443)\n", r)
			return 2
		}
		// curl's form host:port:addr: connections to host go to addr
		// (on the URL's port).
		if port, ip, ok := strings.Cut(addr, ":"); ok && port != "" && strings.Trim(port, "0123456789") == "" {
			if _, err := netip.ParseAddr(strings.Trim(ip, "[]")); err == nil {
				addr = ip
			}
		}
		if opts.Resolve == nil {
			opts.Resolve = map[string]string{}
		}
		opts.Resolve[strings.ToLower(host)] = addr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := audit.Scan(ctx, rest[0], opts)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark scan: %v\n", err)
		return 2
	}
	switch {
	case *asJSON:
		err = rep.WriteJSON(stdout)
	case *htmlFile != "-":
		err = rep.WriteText(stdout)
	}
	if err == nil && *htmlFile != "" {
		err = writeHTML(rep, *htmlFile, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulwark scan: %v\n", err)
		return 2
	}
	if m, ok := audit.Max(rep.Findings); ok && m >= threshold {
		return 1
	}
	return 0
}

func writeHTML(rep audit.Report, path string, stdout io.Writer) error {
	if path == "-" {
		return rep.WriteHTML(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteHTML(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
