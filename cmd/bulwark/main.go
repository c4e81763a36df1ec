// Command bulwark is the Bulwark gateway, demo and auditor.
//
// Usage:
//
//	bulwark <command> [flags] [arguments]
//
// Run "bulwark help" for the list of commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// command is one subcommand: its name, a one-line summary and the function
// that runs it with the remaining arguments. run returns the process exit
// code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists every subcommand in the order "bulwark help" shows them.
// Entries with a nil run are announced but not part of this build yet.
var commands = []command{
	{"serve", "run the gateway in front of an upstream app (TLS, redirects, HSTS, host validation, CSRF, upload checks)", runServe},
	{"demo", "run the gateway, a sample app and a local CA on loopback, with no setup", runDemo},
	{"check", "lint a configuration file, like Django's check --deploy", runCheck},
	{"scan", "audit a live site from outside: redirects, HSTS, cookies, host header, CSRF, media, TLS", runScan},
	{"inspect", "decide whether uploaded files are safe to accept, by content", runInspect},
	{"sessions", "manage session stores (purge expired sessions)", runSessions},
	{"cert", "make a TLS certificate for a development or staging host, from a name-constrained CA", runCert},
	{"version", "print the version", runVersion},
	{"help", "list the commands", nil},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name != name {
			continue
		}
		if c.run == nil {
			fmt.Fprintf(stderr, "bulwark: %s is not available in this build\n", name)
			return 2
		}
		return c.run(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "bulwark: unknown command %q\nRun 'bulwark help' for the list of commands.\n", name)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Bulwark: web-deployment security for any app.\n\nUsage:\n\n\tbulwark <command> [flags] [arguments]\n\nCommands:\n\n")
	for _, c := range commands {
		fmt.Fprintf(w, "\t%-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'bulwark <command> -h' for a command's flags.\n")
}

// parseFlags parses a command's flags, which take no positional argument.
// ok == false means the command ends with code: 0 after -h (fs.Usage has
// run), 2 after a flag error or an unexpected argument (reported on
// stderr).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bulwark %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}
