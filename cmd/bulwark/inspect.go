package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// inspectResult is one line of "bulwark inspect --json".
type inspectResult struct {
	File    string `json:"file"`
	Allowed bool   `json:"allowed"`
	Type    string `json:"type"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	Size    int64  `json:"size"`
}

// runInspect decides, by content, whether files would be accepted as
// uploads. Exit status: 0 all accepted, 1 some refused, 2 usage or read
// error.
func runInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per file")
	allow := fs.String("allow", "", "comma-separated MIME types to accept (default: "+strings.Join(inspect.DefaultAllow, ",")+")")
	maxPixels := fs.Int64("max-pixels", 0, "largest width*height an image may declare (0: default)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: bulwark inspect [--json] [--allow TYPES] [--max-pixels N] FILE...\n\n"+
			"Decides by content whether each file would be accepted as an upload.\n"+
			"Exit status: 0 all accepted, 1 some refused, 2 usage or read error.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	policy := inspect.Policy{MaxPixels: *maxPixels}
	if *allow != "" {
		policy.Allow = strings.Split(*allow, ",")
	}
	if err := policy.Validate(); err != nil {
		fmt.Fprintf(stderr, "bulwark inspect: %v\n", err)
		return 2
	}
	status := 0
	enc := json.NewEncoder(stdout)
	for _, name := range fs.Args() {
		v, err := inspectFile(name, policy)
		if err != nil {
			fmt.Fprintf(stderr, "bulwark inspect: %v\n", err)
			status = 2
			continue
		}
		if !v.Allowed && status == 0 {
			status = 1
		}
		if *asJSON {
			enc.Encode(inspectResult{File: name, Allowed: v.Allowed, Type: v.Type, Reason: v.Reason, Message: v.Message, Size: v.Size})
			continue
		}
		if v.Allowed {
			fmt.Fprintf(stdout, "%s: allowed %s\n", name, v.Type)
		} else {
			fmt.Fprintf(stdout, "%s: refused %s %s\n", name, v.Type, v.Reason)
		}
	}
	return status
}

func inspectFile(name string, policy inspect.Policy) (inspect.Verdict, error) {
	f, err := os.Open(name)
	if err != nil {
		return inspect.Verdict{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return inspect.Verdict{}, err
	}
	if !fi.Mode().IsRegular() {
		return inspect.Verdict{}, fmt.Errorf("%s: not a regular file", name)
	}
	return inspect.File(f, name, policy)
}
