package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"bulwark": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the command-line scripts in testdata/script.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// uploadcorpus writes the generated upload corpus (binary
			// images, polyglots, executables) into DIR.
			"uploadcorpus": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: uploadcorpus DIR")
				}
				dir := ts.MkAbs(args[0])
				ts.Check(os.MkdirAll(dir, 0o755))
				for _, f := range uploadcorpus.Files() {
					ts.Check(os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644))
				}
			},
		},
	})
}

func TestInspectExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range uploadcorpus.Files() {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{p("photo.png"), p("paper.pdf")}, 0},
		{[]string{p("photo.png"), p("after-iend.png")}, 1},
		{[]string{p("missing.png")}, 2},
		{[]string{p("after-iend.png"), p("missing.png")}, 2},
		{nil, 2},
		{[]string{"--bogus", p("photo.png")}, 2},
	} {
		var out, errb bytesBuffer
		if got := run(append([]string{"inspect"}, tc.args...), &out, &errb); got != tc.want {
			t.Errorf("inspect %v: exit %d, want %d (stderr %q)", tc.args, got, tc.want, errb.String())
		}
	}
}

type bytesBuffer = strings.Builder
