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

// runScan audits a live site: "bulwark scan URL [--format
// text|json|sarif|html] [--html FILE] [--baseline FILE] [--fail-on
// SEVERITY] [--ca FILE] [--resolve host:addr] [--post PATH] [--media URL]
// [--http-url URL]". Exit status 0: no finding at or above --fail-on
// (baselined findings apart); 1: at least one; 2: usage error, or the
// site could not be scanned.
func runScan(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the report as JSON (same as --format json)")
	format := fs.String("format", "text", "report `format` on standard output: text, json (docs/scan-json.md), sarif (SARIF 2.1.0) or html")
	htmlFile := fs.String("html", "", "also write an HTML report to `file`")
	baseline := fs.String("baseline", "", "accept the findings listed in this `file` (a baseline, or an earlier --format json report): they are reported but do not fail")
	caFile := fs.String("ca", "", "trust the CA certificates in this PEM `file` instead of the system's")
	httpURL := fs.String("http-url", "", "plain-HTTP `URL` probed for the redirect (default: the host on port 80)")
	timeout := fs.Duration("timeout", 10*time.Second, "time limit per request")
	failOn := fs.String("fail-on", "error", "exit 1 when a finding is at least this `severity` (error, warning or info)")
	var resolve, posts, media listFlag
	fs.Var(&media, "media", "check this `URL` of a file on the media host (an uploaded HTML or SVG file) for nosniff, attachment and a sandbox CSP; repeatable")
	fs.Var(&resolve, "resolve", "connect to `host:addr` instead of resolving host (addr may carry a port; curl's host:port:addr works too); repeatable")
	fs.Var(&posts, "post", "send the CSRF probes (cross-site and same-origin POSTs) to this `path`; repeatable. POSTs may change state: name only paths where that is harmless")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bulwark scan URL [--format text|json|sarif|html] [--baseline FILE] [--fail-on SEVERITY] [--ca FILE] [--resolve host:addr] [--post PATH] [--media URL]\n\n"+
			"Audits a running site from outside: HTTP->HTTPS redirect, HSTS and preload\n"+
			"eligibility, security headers (by path), cookies on every hop, host-header\n"+
			"injection, forwarded-header trust, request framing, CORS, CSP nonces, CSRF\n"+
			"origin handling (only on --post paths), media files (only --media URLs) and\n"+
			"TLS (every version and cipher suite, post-quantum key exchange, the\n"+
			"certificate's key). Only the URL's host is contacted (and --media hosts).\n\n"+
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
	if *asJSON {
		*format = "json"
	}
	write, ok := map[string]func(audit.Report, io.Writer) error{
		"text": audit.Report.WriteText, "json": audit.Report.WriteJSON,
		"sarif": audit.Report.WriteSARIF, "html": audit.Report.WriteHTML,
	}[*format]
	if !ok {
		fmt.Fprintf(stderr, "bulwark scan: --format %q: want text, json, sarif or html\n", *format)
		return 2
	}
	if *htmlFile == "-" {
		if *format != "text" {
			fmt.Fprintf(stderr, "bulwark scan: --%s and --html - both write to standard output\n", map[bool]string{true: "json", false: "format"}[*asJSON])
			return 2
		}
		*format, write = "html", audit.Report.WriteHTML
		*htmlFile = ""
	}
	base, err := loadBaseline(*baseline)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark scan: %v\n", err)
		return 2
	}
	threshold, err := audit.ParseSeverity(*failOn)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark scan: --fail-on: %v\n", err)
		return 2
	}
	opts := audit.ScanOptions{HTTPURL: *httpURL, PostPaths: posts, MediaURLs: media, Timeout: *timeout}
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
	rep.Tool = "bulwark " + buildVersion()
	base.Apply(rep.URL, rep.Findings)
	err = write(rep, stdout)
	if err == nil && *htmlFile != "" {
		err = writeHTML(rep, *htmlFile)
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

// loadBaseline reads a baseline file; "" is none.
func loadBaseline(path string) (*audit.Baseline, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	base, err := audit.ParseBaseline(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return base, nil
}

func writeHTML(rep audit.Report, path string) error {
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
