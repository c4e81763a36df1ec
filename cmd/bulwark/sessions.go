package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/pgstore"
	"github.com/bulwarkdev/bulwark/session/sqlitestore"
)

const sessionsUsage = `Usage:

	bulwark sessions purge (--sqlite PATH | --postgres URL | --redis ADDR) [flags]

Purge deletes expired sessions from a store, like Django's clearsessions.
Expired sessions are never accepted whether or not they were purged; purging
reclaims their space. Run it from cron, or let the gateway sweep on its own.

Exactly one store flag is required:

	--sqlite PATH     the SQLite database file (it must exist)
	--postgres URL    PostgreSQL connection URL, or "env" to read it from
	                  $BULWARK_POSTGRES_URL (keeps passwords out of ps)
	--redis ADDR      Redis expires sessions by itself: nothing to purge

Other flags:

	--table NAME      sessions table (default bulwark_sessions)
	--schema NAME     PostgreSQL schema of the table (default: search_path)
	--timeout D       give up after D (default 10m)

Exit status: 0 on success, 1 if the purge failed, 2 for bad usage.
`

func runSessions(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sessionsUsage)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, sessionsUsage)
		return 0
	case "purge":
		return runSessionsPurge(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "bulwark sessions: unknown subcommand %q\n\n%s", args[0], sessionsUsage)
	return 2
}

func runSessionsPurge(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bulwark sessions purge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		sqlitePath = fs.String("sqlite", "", "")
		pgURL      = fs.String("postgres", "", "")
		redisAddr  = fs.String("redis", "", "")
		table      = fs.String("table", "", "")
		schema     = fs.String("schema", "", "")
		timeout    = fs.Duration("timeout", 10*time.Minute, "")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, sessionsUsage)
			return 0
		}
		fmt.Fprintf(stderr, "bulwark sessions purge: %v\n\n%s", err, sessionsUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bulwark sessions purge: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	set := 0
	for _, v := range []string{*sqlitePath, *pgURL, *redisAddr} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		fmt.Fprintf(stderr, "bulwark sessions purge: give exactly one of --sqlite, --postgres, --redis\n\n%s", sessionsUsage)
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "bulwark sessions purge: --timeout must be positive\n")
		return 2
	}
	if *redisAddr != "" {
		fmt.Fprintf(stdout, "Redis expires sessions by itself (each key has a TTL): nothing to purge.\n")
		return 0
	}
	if *schema != "" && *pgURL == "" {
		fmt.Fprintf(stderr, "bulwark sessions purge: --schema applies to --postgres only\n")
		return 2
	}

	sqliteCfg := sqlitestore.Config{Table: *table}
	pgCfg := pgstore.Config{Schema: *schema, Table: *table}
	for _, err := range []error{sqliteCfg.Validate(), pgCfg.Validate()} {
		if err != nil {
			fmt.Fprintf(stderr, "bulwark sessions purge: %v\n", err)
			return 2
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var (
		p     session.Purger
		where string
	)
	switch {
	case *sqlitePath != "":
		// Open would create a missing file: purging a mistyped path must
		// fail, not leave an empty database behind.
		if _, err := os.Stat(*sqlitePath); err != nil {
			fmt.Fprintf(stderr, "bulwark sessions purge: %v\n", err)
			return 1
		}
		s, err := sqlitestore.OpenConfig(ctx, *sqlitePath, sqliteCfg)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark sessions purge: %v\n", err)
			return 1
		}
		defer s.Close()
		p, where = s, fmt.Sprintf("SQLite database %q", *sqlitePath)
	default:
		url := *pgURL
		if url == "env" {
			url = os.Getenv("BULWARK_POSTGRES_URL")
			if url == "" {
				fmt.Fprintf(stderr, "bulwark sessions purge: --postgres env: $BULWARK_POSTGRES_URL is empty\n")
				return 2
			}
		}
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			// pgx's parse errors quote the URL with its password masked
			// ("u:xxxxx@"); the test pins that no password is shown.
			fmt.Fprintf(stderr, "bulwark sessions purge: --postgres: %v\n", err)
			return 2
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark sessions purge: %v\n", err)
			return 1
		}
		defer pool.Close()
		s, err := pgstore.New(ctx, pool, pgCfg)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark sessions purge: %v\n", err)
			return 1
		}
		p, where = s, fmt.Sprintf("PostgreSQL database %q on %s", cfg.ConnConfig.Database, cfg.ConnConfig.Host)
	}
	start := time.Now()
	n, err := p.Purge(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "bulwark sessions purge: %v (%d removed before the failure)\n", err, n)
		return 1
	}
	fmt.Fprintf(stdout, "Purged %d expired %s from %s in %v.\n", n, plural(n, "session", "sessions"), where, time.Since(start).Round(time.Millisecond))
	return 0
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
