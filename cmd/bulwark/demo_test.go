package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var bannerURL = regexp.MustCompile(`^\s+(Site|HTTP|Media)\s+(\S+)`)

// startDemoCommand runs "bulwark demo" as a real process (the test binary
// under the name testscript gives it) and returns it with the URLs of its
// banner.
func startDemoCommand(t *testing.T, state string) (*exec.Cmd, map[string]string, *bytes.Buffer) {
	t.Helper()
	bin, err := exec.LookPath("bulwark")
	if err != nil {
		t.Fatalf("bulwark not on PATH (set up by TestMain): %v", err)
	}
	cmd := exec.Command(bin, "demo", "--state", state, "--ports", "0,0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	urls := map[string]string{}
	var banner bytes.Buffer
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("demo exited before it was ready:\n%s\n%s", banner.String(), stderr.String())
			}
			banner.WriteString(line + "\n")
			if m := bannerURL.FindStringSubmatch(line); m != nil {
				urls[m[1]] = m[2]
			}
			if strings.HasPrefix(line, "Press Ctrl-C") {
				go func() {
					for l := range lines {
						banner.WriteString(l + "\n")
					}
				}()
				return cmd, urls, &banner
			}
		case <-deadline:
			t.Fatalf("demo not ready within 60s:\n%s\n%s", banner.String(), stderr.String())
		}
	}
}

func TestDemoCommand(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state")
	cmd, urls, banner := startDemoCommand(t, state)
	for _, k := range []string{"Site", "HTTP", "Media"} {
		if urls[k] == "" {
			t.Fatalf("banner lacks the %s URL:\n%s", k, banner)
		}
	}
	for _, want := range []string{state + "/ca.pem", "curl --cacert", "NODE_EXTRA_CA_CERTS=", "Firefox", "Chromium", "max-age=300", "made now"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}

	caPEM, err := os.ReadFile(filepath.Join(state, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	c := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	resp, err := c.Get(urls["HTTP"])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != urls["Site"] {
		t.Errorf("http: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), urls["Site"])
	}
	resp, err = c.Get(urls["Site"])
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "max-age=300" {
		t.Errorf("https: %d HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
	}

	// SIGTERM: graceful shutdown, exit status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop within 30s of SIGTERM")
	}

	// A second run reuses the CA: a user trusts it once.
	_, _, banner2 := startDemoCommand(t, state)
	if strings.Contains(banner2.String(), "made now") {
		t.Error("second run made a new CA")
	}
	caPEM2, _ := os.ReadFile(filepath.Join(state, "ca.pem"))
	if !bytes.Equal(caPEM, caPEM2) {
		t.Error("CA certificate changed across runs")
	}
}

func TestDemoFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--ports", "8443"},
		{"demo", "--ports", "80,80"},
		{"demo", "--ports", "x,443"},
		{"demo", "--ports", "70000,443"},
		{"demo", "extra"},
		{"demo", "--hsts-max-age", "-1s", "--ports", "0,0", "--state", "/nonexistent/never"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == 0 {
			t.Errorf("bulwark %q: exit 0, want an error", args)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"demo", "-h"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "-ports HTTP,HTTPS") {
		t.Errorf("demo -h: exit %d, usage %q", code, errb.String())
	}
}

// TestReadmeQuickstartConfig keeps the README's Django quickstart true: its
// TOML block must be a valid gateway configuration.
func TestReadmeQuickstartConfig(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "### Put it in front of your Django app")
	if !ok {
		t.Fatal("README has no Django quickstart")
	}
	_, block, ok := strings.Cut(rest, "```toml\n")
	if !ok {
		t.Fatal("Django quickstart has no TOML block")
	}
	block, _, _ = strings.Cut(block, "```")
	dir := t.TempDir()
	// --check opens the media directory, as serve does: give it one.
	block = strings.ReplaceAll(block, `"/srv/mysite/media"`, strconv.Quote(dir))
	path := filepath.Join(dir, "bulwark.toml")
	if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"serve", "--check", "--config", path}, &out, &errb); code != 0 {
		t.Fatalf("README config: serve --check exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"example-media.net", "max_body_bytes = 10485760"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("effective config lacks %q", want)
		}
	}
	// bulwark check reads it as the gateway configuration it is, without
	// --gateway: the certificate files it names are looked for (BW102).
	out.Reset()
	errb.Reset()
	if code := run([]string{"check", "--config", path}, &out, &errb); code == 2 || !strings.Contains(out.String(), "BW102") {
		t.Errorf("README config: check exit %d:\n%s%s", code, out.String(), errb.String())
	}
}
