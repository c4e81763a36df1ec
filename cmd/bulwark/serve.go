package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// runServe runs the gateway: "bulwark serve --config bulwark.toml", or with
// --check, validates the file and prints the effective configuration.
func runServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "bulwark.toml", "configuration `file` (TOML)")
	check := fs.Bool("check", false, "validate the configuration, print the effective one and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bulwark serve [--check] --config bulwark.toml\n\n"+
			"Runs the gateway in front of an upstream app. SIGHUP reloads the configuration\n"+
			"and certificate files; SIGTERM or SIGINT drains in-flight requests and exits.\n\n")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, err := gateway.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark serve: %v\n", err)
		return 1
	}
	if *check {
		var buf bytes.Buffer
		if err := cfg.EncodeEffective(&buf); err != nil {
			fmt.Fprintf(stderr, "bulwark serve: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "# %s: valid. Effective configuration (defaults filled in):\n\n", *path)
		stdout.Write(buf.Bytes())
		// Where the HTTP redirect lands is valid but easy to get wrong
		// behind a port mapping: say it.
		if d, err := gatewayDeployment(*path); err == nil {
			for _, f := range audit.CheckDeployment(d) {
				if f.ID == "BW115" || f.ID == "BW120" {
					fmt.Fprintf(stderr, "bulwark serve: note: %s\n", f.String())
				}
			}
		}
		return 0
	}

	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	g, err := gateway.New(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark serve: %v\n", err)
		return 1
	}
	gcPercent, memLimit := g.Config().Runtime.Apply()
	logger.Info("runtime", "event", "runtime_settings", "gc_percent", gcPercent, "memory_limit_bytes", memLimit)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				// An invalid file keeps the running configuration; Reload
				// logs config_reload_failed with the reason.
				newCfg, err := gateway.Load(*path)
				if err != nil {
					logger.Error("configuration reload failed", "event", "config_reload_failed", "reason", err.Error())
					continue
				}
				_ = g.Reload(newCfg)
			}
		}
	}()
	if err := g.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "bulwark serve: %v\n", err)
		return 1
	}
	return 0
}
