package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// runCheck lints a configuration file: "bulwark check [--config FILE]
// [--format text|json|sarif] [--gateway] [--skip-files] [--baseline FILE]
// [--fail-on error|warning|info]". Exit status 0: no finding at or above
// --fail-on (baselined findings apart); 1: at least one; 2: usage error,
// or a file that cannot be read or decoded (the message names the line).
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "bulwark.toml", "configuration `file` (TOML)")
	asJSON := fs.Bool("json", false, "print the findings as JSON (same as --format json)")
	format := fs.String("format", "text", "report `format`: text, json (docs/scan-json.md) or sarif (SARIF 2.1.0)")
	skipFiles := fs.Bool("skip-files", false, "do not read the files the configuration names (certificates, media root, key files): for CI, away from the server")
	baseline := fs.String("baseline", "", "accept the findings listed in this `file` (a baseline, or an earlier --format json report)")
	gw := fs.Bool("gateway", false, "the file is a gateway configuration (bulwark serve): also check listeners, certificates, upstream and timeouts (the default for a file with [listen], [tls], [upstream] or another gateway-only section)")
	failOn := fs.String("fail-on", "error", "exit 1 when a finding is at least this `severity` (error, warning or info)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bulwark check [--config bulwark.toml] [--format text|json|sarif] [--gateway] [--skip-files] [--baseline FILE] [--fail-on error|warning|info]\n\n"+
			"Lints a configuration as Django's check --deploy lints settings, and prints\n"+
			"one finding a line: ID severity key: message (fix).\n\n"+
			"Exit status: 0 clean, 1 a finding at or above --fail-on, 2 usage or file error.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	threshold, err := audit.ParseSeverity(*failOn)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark check: --fail-on: %v\n", err)
		return 2
	}
	if *asJSON {
		*format = "json"
	}
	write, ok := map[string]func(audit.CheckReport, io.Writer) error{
		"text": audit.CheckReport.WriteText, "json": audit.CheckReport.WriteJSON, "sarif": audit.CheckReport.WriteSARIF,
	}[*format]
	if !ok {
		fmt.Fprintf(stderr, "bulwark check: --format %q: want text, json or sarif\n", *format)
		return 2
	}
	base, err := loadBaseline(*baseline)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark check: %v\n", err)
		return 2
	}

	var findings []audit.Finding
	if !*gw {
		// A file with a section only the gateway has is a gateway
		// configuration (the README's own file is one): checked as such.
		*gw = isGatewayFile(*path)
	}
	if *gw {
		d, err := gatewayDeployment(*path)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark check: %v\n", err)
			return 2
		}
		d.SkipFiles = *skipFiles
		findings = audit.CheckDeployment(d)
	} else {
		cfg, err := bulwark.LoadConfig(*path)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark check: %v\n", err)
			var ce *bulwark.ConfigError
			if errors.As(err, &ce) && errors.Is(err, bulwark.ErrUnknownKey) {
				switch {
				case gatewayKey(ce.Key):
					fmt.Fprintf(stderr, "bulwark check: hint: %q is a gateway key; use --gateway for a bulwark serve configuration\n", ce.Key)
				case strings.HasPrefix(ce.Key, "signing.") && strings.Contains(ce.Key, "key") && !strings.HasSuffix(ce.Key, "_file") && !strings.HasSuffix(ce.Key, "_env"):
					fmt.Fprintf(stderr, "bulwark check: hint: the key never goes in the configuration; name its source with signing.secret_key_file or signing.secret_key_env\n")
				}
			}
			return 2
		}
		findings = audit.CheckDeployment(audit.Deployment{Config: cfg, SkipFiles: *skipFiles})
	}

	rep := audit.CheckReport{Tool: "bulwark " + buildVersion(), Config: *path, Findings: findings}
	base.Apply(rep.Config, rep.Findings)
	if err := write(rep, stdout); err != nil {
		fmt.Fprintf(stderr, "bulwark check: %v\n", err)
		return 2
	}
	if m, ok := audit.Max(findings); ok && m >= threshold {
		return 1
	}
	return 0
}

// gatewayDeployment decodes a gateway configuration without validating
// it (validation errors are findings, BW001/BW101), and describes it for
// audit.CheckDeployment. A file that cannot be decoded is an error with
// the gateway loader's own message (which names the line).
func gatewayDeployment(path string) (audit.Deployment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return audit.Deployment{}, err
	}
	var c gateway.Config
	md, err := toml.Decode(string(b), &c)
	validate := c.Validate
	if und := md.Undecoded(); err == nil && len(und) > 0 {
		err = errors.New("unknown key")
		// Library settings the edge does not run ([session], the
		// token keys of [csrf]) are reported as the invalid
		// configuration they are (BW101), beside the other findings;
		// a typo stops the check.
		if !slices.ContainsFunc(und, func(k toml.Key) bool { return !gateway.IsLibraryKey(k) }) {
			_, perr := gateway.Parse(b)
			validate = func() error { return perr }
			err = nil
		}
	}
	if err != nil {
		// The gateway's loader formats decoding errors with their line.
		if _, perr := gateway.Parse(b); perr != nil {
			return audit.Deployment{}, fmt.Errorf("%s: %w", path, perr)
		}
		return audit.Deployment{}, fmt.Errorf("%s: %w", path, err)
	}
	eff := c.WithDefaults()
	d := audit.Deployment{
		// The library sections, as the gateway runs them (the token
		// layer off, accepted uploads forwarded).
		Config: c.Library(),
		Server: &audit.Server{
			Validate:                   validate,
			AdminAddr:                  eff.Listen.Admin,
			CertFile:                   c.TLS.CertFile,
			KeyFile:                    c.TLS.KeyFile,
			UpstreamURL:                c.Upstream.URL,
			UpstreamInsecureSkipVerify: c.Upstream.InsecureSkipVerify,
			ReadHeaderTimeout:          eff.Timeouts.ReadHeader,
			IdleTimeout:                eff.Timeouts.Idle,
			NoCSRF:                     c.Edge.AllowInsecureNoCSRF,
			NoSameSite:                 c.Edge.Cookies.AllowInsecureNoSameSite,
			UnderscoreHeaders:          c.Forwarding.AllowUnderscoreHeaders,
			AdminProfiling:             c.Listen.AdminProfiling,
			ClusterStore:               c.Cluster.Store,
			ClusterEnabled:             c.Cluster.Enabled(),
			ClusterTicketsShared:       c.Cluster.TicketKeySecretEnv != "",
			ClusterTimeout:             eff.Cluster.Timeout,
			StreamPaths:                c.Buffering.InsecureStreamPaths,
			HTTPAddr:                   eff.Listen.HTTP,
			HTTPSAddr:                  eff.Listen.HTTPS,
			RedirectPort:               eff.HTTPS.RedirectPort,
			HealthPublicLive:           c.Health.Path != "" && c.Health.Live && len(c.Health.AllowNetworks) == 0,
		},
	}
	if c.TLS.ACME.Enabled {
		d.Server.ACMEHosts = append([]string{}, c.TLS.ACME.Hosts...)
	}
	d.NoCSRF = c.Edge.AllowInsecureNoCSRF
	return d, nil
}

// isGatewayFile reports whether the TOML file at path has a top-level
// table or key that only a gateway configuration has. An unreadable or
// invalid file is not (the library loader then reports why).
func isGatewayFile(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]any
	if _, err := toml.Decode(string(b), &top); err != nil {
		return false
	}
	for k := range top {
		if gatewayKey(k) {
			return true
		}
	}
	return false
}

// gatewayKey reports whether a dotted key belongs to a section only the
// gateway's configuration has.
func gatewayKey(key string) bool {
	section, _, _ := strings.Cut(key, ".")
	return gateway.IsServerSection(section)
}
