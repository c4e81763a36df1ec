package gateway_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/refusal/refusaltest"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
)

// startGunicorn runs a gateway in front of Debian's gunicorn (2 sync
// workers) serving the echo app.
func startGunicorn(t *testing.T, mutate func(*gateway.Config)) (*env, *testsvc.Gunicorn) {
	t.Helper()
	// The access log shows which requests reached the app.
	g := testsvc.StartGunicorn(t, testsvc.DjangoApp{Args: []string{"--access-logfile", "-"}})
	e := start(t, nil, func(c *gateway.Config) {
		c.Upstream.URL = g.URL
		c.Upstream.HealthPath = "/_ready"
		if mutate != nil {
			mutate(c)
		}
	})
	return e, g
}

// tlsConn opens an HTTP/1.1 TLS connection to the gateway.
func (e *env) tlsConn(t *testing.T) *tls.Conn {
	t.Helper()
	c, err := tls.Dial("tcp", "127.0.0.1:"+e.httpsPrt, &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoReport(t *testing.T, body string) testsvc.EchoReport {
	t.Helper()
	var rep testsvc.EchoReport
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		t.Fatalf("not the echo app's report: %v: %.300q", err, body)
	}
	return rep
}

func (e *env) metrics(t *testing.T) string {
	t.Helper()
	r, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// TestSlowClientsDoNotHoldWorkers is the slow-client row: more clients
// trickling their bodies than gunicorn has sync workers, and a normal
// request still answers within a second, because the gateway holds the
// bodies, not the workers. The same clients on a streaming path
// (insecure_stream_paths) do hold the workers: the row can fail.
func TestSlowClientsDoNotHoldWorkers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stream  []string
		exempt  []string
		blocked bool
	}{
		// Outside [uploads], whose layer reads the bodies it inspects
		// in full: the bufferer alone holds them.
		{"buffered", nil, []string{"/slowpost/"}, false},
		// The default: [uploads] on every path reads the body first.
		{"read by the upload layer", nil, nil, false},
		{"streamed", []string{"/slowpost/"}, []string{"/slowpost/"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, g := startGunicorn(t, func(c *gateway.Config) {
				c.Buffering.InsecureStreamPaths = tc.stream
				c.Uploads.ExemptPaths = tc.exempt
				c.Edge.AllowInsecureNoCSRF = true
			})
			const slow = 4 // twice the workers
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := 0; i < slow; i++ {
				c := e.tlsConn(t)
				fmt.Fprintf(c, "POST /slowpost/%d HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nfirst", i, siteHost)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						case <-time.After(200 * time.Millisecond):
							if _, err := io.WriteString(c, "x"); err != nil {
								return
							}
						}
					}
				}()
			}
			defer func() { close(stop); wg.Wait() }()
			time.Sleep(500 * time.Millisecond) // the slow requests are in
			req, _ := http.NewRequest("GET", e.https+"/normal/", nil)
			e.client.Timeout = 3 * time.Second
			t0 := time.Now()
			resp, err := e.client.Do(req)
			took := time.Since(t0)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rep := echoReport(t, string(b)); rep.Path != "/normal/" {
					t.Errorf("app saw %v", rep)
				}
			}
			if tc.blocked {
				if err == nil && took < time.Second {
					t.Errorf("streamed bodies did not hold the workers (answered in %v): the row proves nothing", took)
				}
				return
			}
			if err != nil || took > time.Second {
				t.Fatalf("normal request with %d slow clients: %v after %v, want an answer within 1s\n%s", slow, err, took, g.Log())
			}
		})
	}
}

// TestBodiesReachTheAppIntact sends bodies of several sizes and framings
// and compares what Django read (request.body's size and SHA-256) with
// what was sent.
func TestBodiesReachTheAppIntact(t *testing.T) {
	e, g := startGunicorn(t, func(c *gateway.Config) {
		c.Edge.AllowInsecureNoCSRF = true
		c.Buffering.MemoryBytes = 16 << 10
		// Random bytes are no file type [uploads] allows: the path is
		// exempt, the bufferer alone carries them.
		c.Uploads.ExemptPaths = []string{"/data/"}
	})
	for _, size := range []int{1, 100, 16 << 10, 16<<10 + 1, 3 << 20} {
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/chunked=%v", size, chunked), func(t *testing.T) {
				body := make([]byte, size)
				rand.Read(body)
				sum := sha256.Sum256(body)
				var rd io.Reader = bytes.NewReader(body)
				if chunked {
					rd = io.MultiReader(rd) // no length: sent chunked
				}
				req, _ := http.NewRequest("PUT", e.https+"/data/", rd)
				req.Header.Set("Content-Type", "application/octet-stream")
				resp, got := e.do(req)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d %q\n%s", resp.StatusCode, got, g.Log())
				}
				rep := echoReport(t, got)
				if rep.BodySize == nil || *rep.BodySize != size || rep.BodySHA256 != hex.EncodeToString(sum[:]) {
					t.Errorf("app read %v bytes, sha %s; sent %d, %x", rep.BodySize, rep.BodySHA256, size, sum)
				}
				if rep.ContentLength != fmt.Sprint(size) {
					t.Errorf("app saw CONTENT_LENGTH %q, want %d (the buffered body goes on with its length)", rep.ContentLength, size)
				}
				if _, ok := rep.Meta["HTTP_TRANSFER_ENCODING"]; ok {
					t.Errorf("app saw Transfer-Encoding: %v", rep.Meta)
				}
			})
		}
	}
}

// TestBodyFaultsAreClientFaults: a malformed chunked body, a stalled body
// and an over-long body are answered 400, 408 and 413 with one refusal
// event each, on buffered, streamed and upload paths alike, and never
// counted as upstream errors.
func TestBodyFaultsAreClientFaults(t *testing.T) {
	e, _ := startGunicorn(t, func(c *gateway.Config) {
		c.Edge.AllowInsecureNoCSRF = true
		c.Buffering.IdleTimeout = 300 * time.Millisecond
		// The streamed path is a view that answers after a second
		// without reading the body: Django under WSGI reads no chunked
		// body at all (no CONTENT_LENGTH), so a view that answers at
		// once would race the body fault with an early answer.
		c.Buffering.InsecureStreamPaths = []string{"/_slow/"}
		c.Limits.MaxBodyBytes = 64 << 10
		// On an upload path the upload layer reads the body first.
		c.Uploads.Paths = []string{"/upload/"}
	})
	big := strings.Repeat("a", 70<<10)
	for _, tc := range []struct {
		name, head, body string
		status           int
		event, reason    string
	}{
		{"malformed chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\nZZ\r\n", 400, "request_body_refused", "body_malformed"},
		{"stalled", "Content-Length: 100\r\n", "only a part", 408, "request_body_refused", "body_timeout"},
		{"chunked over the cap", "Transfer-Encoding: chunked\r\n", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big), 413, "request_too_large", "max_body_bytes"},
	} {
		for _, path := range []string{"/buffered/", "/_slow/1000/", "/upload/"} {
			t.Run(tc.name+path, func(t *testing.T) {
				before := strings.Count(e.logs.String(), `"reason":"`+tc.reason+`"`)
				c := e.tlsConn(t)
				c.SetDeadline(time.Now().Add(5 * time.Second))
				fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n%s\r\n%s", path, siteHost, tc.head, tc.body)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != http.StatusText(tc.status) {
					t.Errorf("status %d %q, want %d\n%s", resp.StatusCode, b, tc.status, grepLines(e.logs.String(), "error"))
				}
				if !resp.Close {
					t.Errorf("connection kept open after a body fault")
				}
				waitFor(t, "one refusal event", func() bool {
					return strings.Count(e.logs.String(), `"reason":"`+tc.reason+`"`) == before+1
				})
				if !strings.Contains(e.logs.String(), `"event":"`+tc.event+`"`) {
					t.Errorf("no %s event", tc.event)
				}
			})
		}
	}
	m := e.metrics(t)
	if strings.Contains(m, "bulwark_upstream_errors_total{") {
		t.Errorf("body faults counted as upstream errors:\n%s", grepLines(m, "upstream_errors"))
	}
	if strings.Contains(e.logs.String(), `"event":"upstream_error"`) {
		t.Errorf("body faults logged as upstream errors")
	}
	for _, ev := range refusaltest.Events(t, e.logs.String(), "request_body_refused") {
		if err := refusaltest.Check(ev, "127.0.0.1", siteHost); err != nil {
			t.Errorf("event shape: %v", err)
		}
	}
	for _, want := range []string{
		`bulwark_refusals_total{event="request_body_refused",reason="body_malformed"} 3`,
		`bulwark_refusals_total{event="request_body_refused",reason="body_timeout"} 3`,
		`bulwark_refusals_total{event="request_too_large",reason="max_body_bytes"} 3`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(m, "refusals"))
		}
	}
}

// TestEarlyAnswerRelayed: the app answers 403 without reading a large
// body and gunicorn closes the connection (a reset, with the body
// unread); the client gets the app's 403, every time, never a 502.
func TestEarlyAnswerRelayed(t *testing.T) {
	e, g := startGunicorn(t, func(c *gateway.Config) {
		c.Edge.AllowInsecureNoCSRF = true
	})
	body := bytes.Repeat([]byte("z"), 8<<20)
	for i := 0; i < 20; i++ {
		req, _ := http.NewRequest("POST", e.https+"/_early/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/octet-stream")
		resp, got := e.do(req)
		if resp.StatusCode != http.StatusForbidden || got != "refused early" {
			t.Fatalf("attempt %d: status %d %.100q, want the app's 403\n%s", i, resp.StatusCode, got, g.Log())
		}
	}
	if strings.Contains(e.logs.String(), `"event":"upstream_error"`) {
		t.Errorf("early answers logged as upstream errors")
	}
}

// TestRawUploadBodies: on an upload path, a body that is not a form is
// inspected as a file: a PNG reaches Django byte for byte, a PNG+HTML
// polyglot (or HTML declared as PNG) is refused with 415 and never reaches
// gunicorn; with raw_bodies = "refuse" every such body is refused. Forms
// still pass, and paths outside [uploads] are not inspected.
func TestRawUploadBodies(t *testing.T) {
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<html><script>alert(1)</script>"))
	for _, mode := range []string{"", "refuse"} {
		t.Run("raw_bodies="+mode, func(t *testing.T) {
			e, g := startGunicorn(t, func(c *gateway.Config) {
				c.Uploads.Paths = []string{"/upload/"}
				c.Uploads.RawBodies = mode
				c.Edge.AllowInsecureNoCSRF = true
			})
			for i, tc := range []struct {
				method, path, ct string
				body             []byte
				status           int
				reason           string
			}{
				{"PUT", "/upload/avatar", "image/png", png, 200, ""},
				{"POST", "/upload/avatar", "application/octet-stream", png, 200, ""},
				{"PUT", "/upload/avatar", "image/png", polyglot, 415, "polyglot_html"},
				{"POST", "/upload/avatar", "image/png", []byte("<html><script>alert(1)</script>"), 415, "html"},
				{"PUT", "/upload/avatar", "image/gif", png, 415, "type_mismatch"},
				{"POST", "/upload/avatar", "application/x-www-form-urlencoded", []byte("a=1"), 200, ""},
				{"PUT", "/elsewhere/", "image/png", polyglot, 200, ""},
			} {
				status, reason := tc.status, tc.reason
				raw := tc.ct != "application/x-www-form-urlencoded" && strings.HasPrefix(tc.path, "/upload/")
				if mode == "refuse" && raw {
					status, reason = 415, "raw_body"
				}
				path := fmt.Sprintf("%s?row=%d", tc.path, i)
				req, _ := http.NewRequest(tc.method, e.https+path, bytes.NewReader(tc.body))
				req.Header.Set("Content-Type", tc.ct)
				resp, got := e.do(req)
				if resp.StatusCode != status {
					t.Errorf("row %d %s %s %s: status %d %.200q, want %d", i, tc.method, tc.path, tc.ct, resp.StatusCode, got, status)
					continue
				}
				seen := strings.Contains(g.Log(), fmt.Sprintf("row=%d ", i))
				if status != 200 {
					if !strings.Contains(e.logs.String(), `"event":"upload_refused","reason":"`+reason+`"`) {
						t.Errorf("row %d: no upload_refused event with reason %s", i, reason)
					}
					if seen {
						t.Errorf("row %d: refused body reached gunicorn", i)
					}
					continue
				}
				for j := 0; j < 100 && !seen; j++ {
					// gunicorn logs the request after answering it.
					time.Sleep(20 * time.Millisecond)
					seen = strings.Contains(g.Log(), fmt.Sprintf("row=%d ", i))
				}
				if !seen {
					t.Errorf("row %d: accepted, but not in gunicorn's access log (the refusal check above proves nothing)", i)
				}
				rep := echoReport(t, got)
				sum := sha256.Sum256(tc.body)
				if tc.ct != "application/x-www-form-urlencoded" &&
					(rep.BodySize == nil || *rep.BodySize != len(tc.body) || rep.BodySHA256 != hex.EncodeToString(sum[:])) {
					t.Errorf("row %d: app read %v bytes (sha %s), sent %d", i, rep.BodySize, rep.BodySHA256, len(tc.body))
				}
				if tc.ct == "application/x-www-form-urlencoded" && rep.Post["a"][0] != "1" {
					t.Errorf("row %d: form reached the app as %v", i, rep.Post)
				}
			}
		})
	}
}

// TestStalledBodyOverHTTP2: the idle timeout holds for an HTTP/2 stream
// too (a stream's read deadline): 408, one event, the upstream not
// contacted.
func TestStalledBodyOverHTTP2(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Edge.AllowInsecureNoCSRF = true
		c.Buffering.IdleTimeout = 300 * time.Millisecond
	})
	c := e.newClient(true)
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { io.WriteString(pw, "part of a body") }() // then nothing
	req, _ := http.NewRequest("POST", e.https+"/echo", pr)
	req.Header.Set("Content-Type", "text/plain")
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("HTTP/%d status %d, want HTTP/2 408", resp.ProtoMajor, resp.StatusCode)
	}
	if d := time.Since(t0); d > 3*time.Second {
		t.Errorf("answered after %v; the idle timeout is 300ms", d)
	}
	if !strings.Contains(e.logs.String(), `"event":"request_body_refused","reason":"body_timeout"`) {
		t.Errorf("no body_timeout event")
	}
	if n := e.up.hits.Load(); n != 0 {
		t.Errorf("upstream contacted %d times", n)
	}
}

// TestBufferingConfig: the section's values are checked, named in the
// error, and its defaults are what --check prints.
func TestBufferingConfig(t *testing.T) {
	base := func() gateway.Config {
		var c gateway.Config
		c.Upstream.URL = "http://127.0.0.1:8000"
		c.TLS.CertFile, c.TLS.KeyFile = "c.pem", "k.pem"
		c.Hosts.Allowed = []string{siteHost}
		c.Uploads.ExemptPaths = []string{"/events/", "/feed"}
		return c
	}
	for _, tc := range []struct {
		name   string
		mutate func(*gateway.BufferingConfig)
		want   string // "" for valid
	}{
		{"zero", func(*gateway.BufferingConfig) {}, ""},
		{"all set", func(b *gateway.BufferingConfig) {
			b.MemoryBytes, b.IdleTimeout, b.TempDir, b.InsecureStreamPaths = 1<<20, time.Second, t.TempDir(), []string{"/events/", "/feed"}
		}, ""},
		{"negative memory", func(b *gateway.BufferingConfig) { b.MemoryBytes = -1 }, "buffering.memory_bytes"},
		{"huge memory", func(b *gateway.BufferingConfig) { b.MemoryBytes = 1 << 30 }, "buffering.memory_bytes"},
		{"negative idle", func(b *gateway.BufferingConfig) { b.IdleTimeout = -time.Second }, "buffering.idle_timeout"},
		{"missing temp dir", func(b *gateway.BufferingConfig) { b.TempDir = t.TempDir() + "/nope" }, "buffering.temp_dir"},
		{"unclean stream path", func(b *gateway.BufferingConfig) { b.InsecureStreamPaths = []string{"/a/../b/"} }, "buffering.insecure_stream_paths"},
		{"relative stream path", func(b *gateway.BufferingConfig) { b.InsecureStreamPaths = []string{"events/"} }, "buffering.insecure_stream_paths"},
		{"stream path under uploads", func(b *gateway.BufferingConfig) { b.InsecureStreamPaths = []string{"/api/"} }, "add it to uploads.exempt_paths"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c.Buffering)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, gateway.ErrInvalidConfig) || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Fatalf("Validate: %v, want an error naming %s", err, tc.want)
			}
		})
	}
	d := base().WithDefaults().Buffering
	if d.MemoryBytes != 64<<10 || d.IdleTimeout != 10*time.Second || len(d.InsecureStreamPaths) != 0 {
		t.Errorf("defaults %+v", d)
	}
	c := base()
	c.Uploads.Paths = []string{"/upload/"}
	c.Uploads.TempDir = "/var/tmp"
	if d := c.WithDefaults().Buffering; d.TempDir != "/var/tmp" {
		t.Errorf("temp_dir does not follow uploads.temp_dir: %q", d.TempDir)
	}
}

// TestTricklingBodyHitsTheTotalBound: a client that never pauses long
// enough for the idle timeout, but whose body takes longer than
// timeouts.read, is cut at timeouts.read with a 408.
func TestTricklingBodyHitsTheTotalBound(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Edge.AllowInsecureNoCSRF = true
		c.Timeouts.Read = 700 * time.Millisecond
		c.Buffering.IdleTimeout = 10 * time.Second
	})
	c := e.tlsConn(t)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n", siteHost)
	t0 := time.Now()
	go func() {
		for i := 0; i < 100; i++ {
			time.Sleep(100 * time.Millisecond)
			if _, err := io.WriteString(c, "a"); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if d := time.Since(t0); resp.StatusCode != http.StatusRequestTimeout || d > 3*time.Second {
		t.Fatalf("status %d after %v, want 408 at about 700ms", resp.StatusCode, d)
	}
	if n := e.up.hits.Load(); n != 0 {
		t.Errorf("upstream contacted %d times", n)
	}
}
