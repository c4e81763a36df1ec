package gateway_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawResult is the answer to a request written byte for byte.
type rawResult struct {
	status int
	body   string
	header http.Header
	closed bool // the server closed the connection after the response
}

// raw sends req (a whole HTTP/1.1 request, "\r\n" line ends) over TLS to
// the gateway and reads one response.
func (e *env) raw(req string) rawResult {
	e.t.Helper()
	return e.rawConn(req, false)
}

// rawConn is raw; with waitClose it then waits to see whether the server
// closes the connection (rawResult.closed).
func (e *env) rawConn(req string, waitClose bool) rawResult {
	e.t.Helper()
	conn, err := tls.Dial("tcp", e.httpsLn.Addr().String(), &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"http/1.1"}})
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, req); err != nil {
		e.t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		e.t.Fatalf("reading response: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !waitClose {
		return rawResult{status: resp.StatusCode, body: string(b), header: resp.Header}
	}
	// Closed: EOF at once. Open: the read times out.
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = br.ReadByte()
	closed := err == io.EOF
	return rawResult{status: resp.StatusCode, body: string(b), header: resp.Header, closed: closed}
}

// TestCanonicalForwarding: what reaches the upstream is one unambiguous
// request, the one the edge judged; what cannot be made so is refused
// with 400 and one refusal event before the upstream is contacted.
func TestCanonicalForwarding(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) {
		c.Forwarding.StripHeaders = []string{"Remote-User"}
		c.Forwarding.AllowUnderscoreHeaders = []string{"X_Legacy_Token"}
	})
	host := siteHost + ":" + e.httpsPrt
	req := func(method, target string, hdr ...string) string {
		var b strings.Builder
		b.WriteString(method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nSec-Fetch-Site: same-origin\r\n")
		for i := 0; i+1 < len(hdr); i += 2 {
			b.WriteString(hdr[i] + ": " + hdr[i+1] + "\r\n")
		}
		if method == "POST" {
			b.WriteString("Content-Length: 0\r\n")
		}
		b.WriteString("\r\n")
		return b.String()
	}
	for _, tc := range []struct {
		name   string
		req    string
		status int
		event  string // the refusal event logged, for 400
		check  func(t *testing.T, got echoed)
	}{
		{"attack: two Content-Type", req("POST", "/echo", "Content-Type", "text/plain", "Content-Type", "multipart/form-data; boundary=x"), 400, `"event":"header_refused","reason":"duplicate_header"`, nil},
		{"attack: two Content-Type, case variants", req("POST", "/echo", "content-type", "text/plain", "CONTENT-TYPE", "image/png"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: two Authorization", req("GET", "/echo", "Authorization", "Basic YTpi", "Authorization", "Bearer x"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: two Origin", req("GET", "/echo", "Origin", "https://"+siteHost, "Origin", "https://evil.test"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: two Referer", req("GET", "/echo", "Referer", "https://"+siteHost+"/", "Referer", "https://evil.test/"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: two Cookie", req("GET", "/echo", "Cookie", "a=1", "Cookie", "sessionid=x"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: two Sec-Fetch-Site", req("POST", "/echo", "Sec-Fetch-Site", "cross-site"), 400, `"reason":"duplicate_header"`, nil},
		{"attack: an allowed '_' name beside its '-' spelling", req("GET", "/echo", "X_Legacy_Token", "a", "X-Legacy-Token", "b"), 400, `"reason":"duplicate_header"`, nil},
		{"repeated list header passes", req("GET", "/echo", "Accept", "text/html", "Accept", "*/*"), 200, "", nil},
		{"attack: dot segments on GET", req("GET", "/x/../echo"), 400, `"event":"path_refused","reason":"dot_segment"`, nil},
		{"attack: encoded dot segments", req("GET", "/x/%2e%2E/echo"), 400, `"reason":"dot_segment"`, nil},
		{"attack: encoded slash", req("GET", "/upload%2Favatar"), 400, `"reason":"encoded_slash"`, nil},
		{"attack: encoded backslash", req("GET", "/upload%5cavatar"), 400, `"reason":"encoded_slash"`, nil},
		{"attack: backslash", req("GET", "/upload\\avatar"), 400, `"reason":"backslash"`, nil},
		{"attack: NUL", req("GET", "/echo%00.png"), 400, `"reason":"control_byte"`, nil},
		{"doubled slashes merged", req("GET", "//echo//a"), 200, "", func(t *testing.T, got echoed) {
			if got.Path != "/echo/a" {
				t.Errorf("upstream path %q, want /echo/a", got.Path)
			}
		}},
		{"escaping made canonical", req("GET", "/%65cho/caf%c3%a9"), 200, "", func(t *testing.T, got echoed) {
			if got.Path != "/echo/café" {
				t.Errorf("upstream path %q", got.Path)
			}
		}},
		{"underscore names dropped, allowed one kept", req("GET", "/echo", "Script_Name", "/x", "PATH_INFO", "/admin/", "X_Legacy_Token", "t", "X-Ok", "1"), 200, "", func(t *testing.T, got echoed) {
			for k := range got.Header {
				if strings.Contains(k, "_") && k != "X_legacy_token" {
					t.Errorf("upstream received %s", k)
				}
			}
			if got.Header.Get("X_Legacy_Token") != "t" || got.Header.Get("X-Ok") != "1" {
				t.Errorf("upstream lost allowed headers: %v", got.Header)
			}
		}},
		{"client-identity and override headers stripped", req("GET", "/echo", "Client-IP", "6.6.6.6", "Forwarded-For", "6.6.6.6", "X-Client-IP", "6.6.6.6",
			"CF-Connecting-IP", "6.6.6.6", "Fastly-Client-IP", "6.6.6.6", "X-Cluster-Client-IP", "6.6.6.6", "X-Original-URL", "/admin/",
			"X-Rewrite-URL", "/admin/", "X-Forwarded-Prefix", "/evil", "X-Forwarded-Server", "evil.test", "X-Forwarded-Scheme", "http",
			"X-HTTP-Method-Override", "DELETE", "Via", "1.1 evil", "Remote-User", "admin", "Remote_User", "admin"), 200, "", func(t *testing.T, got echoed) {
			for k, v := range got.Header {
				j := strings.Join(v, ",")
				if strings.Contains(j, "6.6.6.6") || strings.Contains(j, "evil") || strings.Contains(j, "admin") || strings.Contains(j, "DELETE") {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := e.up.hits.Load()
			before := len(e.logs.String())
			res := e.raw(tc.req)
			if res.status != tc.status {
				t.Fatalf("status %d %q, want %d", res.status, res.body, tc.status)
			}
			if tc.status == 400 {
				if e.up.hits.Load() != hits {
					t.Error("the upstream was contacted")
				}
				logs := e.logs.String()[before:]
				if strings.Count(logs, `"event":"header_refused"`)+strings.Count(logs, `"event":"path_refused"`) != 1 || !contains(logs, tc.event) {
					t.Errorf("want one refusal event with %s, got:\n%s", tc.event, logs)
				}
				if strings.TrimSpace(res.body) != "Bad Request" {
					t.Errorf("body %q", res.body)
				}
				return
			}
			if tc.check != nil {
				tc.check(t, decodeEcho(t, res.body))
			}
		})
	}
	if !contains(e.logs.String(), `"event":"header_dropped","reason":"underscore_name"`) {
		t.Error("no header_dropped event")
	}
}

// TestRequestFraming: an HTTP/1 request with Content-Length beside
// Transfer-Encoding, or HTTP/1.0 with Transfer-Encoding, is refused with
// 400 and its connection closed (RFC 9112 section 6.1), so nothing
// smuggled behind it is read as a request; a chunked request is served
// and its connection closed; the framing of pipelined requests is told
// apart request by request, after bodies and after "OPTIONS *".
func TestRequestFraming(t *testing.T) {
	// The bodies here are not files: no upload inspection on /echo.
	e := start(t, nil, func(c *gateway.Config) { c.Uploads.Paths = []string{"/upload/"} })
	host := siteHost + ":" + e.httpsPrt
	post := func(path, hdr, body string) string {
		return "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nSec-Fetch-Site: same-origin\r\n" + hdr + "\r\n" + body
	}
	smuggled := "GET /smuggled HTTP/1.1\r\nHost: " + host + "\r\n\r\n"
	for _, tc := range []struct {
		name     string
		req      string
		statuses []int  // the responses read, in order
		body     string // the upstream's body of the first request, when 200
		event    string // the refusal reason logged
		closed   bool
	}{
		{"attack: CL+TE", post("/echo", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"+smuggled),
			[]int{400}, "", "content_length_with_transfer_encoding", true},
		{"attack: TE+CL, names in odd case", post("/echo", "transfer-ENCODING: chunked\r\ncontent-length: 4\r\n", "3\r\nabc\r\n0\r\n\r\n"+smuggled),
			[]int{400}, "", "content_length_with_transfer_encoding", true},
		{"attack: HTTP/1.0 with TE", "POST /echo HTTP/1.0\r\nHost: " + host + "\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			[]int{400}, "", "transfer_encoding_http10", true},
		{"attack: CL+TE behind a sound request", post("/echo", "Content-Length: 3\r\n", "abc") + post("/echo", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
			[]int{200, 400}, "abc", "content_length_with_transfer_encoding", true},
		{"attack: CL+TE behind OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: " + host + "\r\n\r\n" + post("/echo", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"),
			[]int{200, 400}, "", "content_length_with_transfer_encoding", true},
		{"chunked", post("/echo", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\n\r\n"), []int{200}, "abc", "", true},
		{"content-length", post("/echo", "Content-Length: 3\r\n", "abc"), []int{200}, "abc", "", false},
		{"pipelined bodies", post("/echo", "Content-Length: 3\r\n", "abc") + post("/echo", "Content-Length: 30\r\n", "Transfer-Encoding: chunked\r\n\r\n") + post("/echo", "Content-Length: 3\r\n", "xyz"),
			[]int{200, 200, 200}, "abc", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := e.up.hits.Load()
			before := len(e.logs.String())
			conn, err := tls.Dial("tcp", e.httpsLn.Addr().String(), &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			io.WriteString(conn, tc.req)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(conn)
			for i, want := range tc.statuses {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("response %d: %v", i, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Fatalf("response %d: status %d %q, want %d", i, resp.StatusCode, b, want)
				}
				if i == 0 && want == 200 && tc.body != "" {
					if got := decodeEcho(t, string(b)); got.Body != tc.body {
						t.Errorf("upstream body %q, want %q", got.Body, tc.body)
					}
				}
			}
			conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			_, err = br.ReadByte()
			if closed := err == io.EOF; closed != tc.closed {
				t.Errorf("connection closed = %v (%v), want %v", closed, err, tc.closed)
			}
			served := 0
			for _, s := range tc.statuses {
				if s == 200 {
					served++
				}
			}
			if strings.Contains(tc.req, "OPTIONS *") {
				served-- // answered by net/http itself
			}
			if got := int(e.up.hits.Load() - hits); got != served {
				t.Errorf("the upstream saw %d requests, want %d", got, served)
			}
			logs := e.logs.String()[before:]
			if tc.event != "" && strings.Count(logs, `"event":"header_refused","reason":"`+tc.event+`"`) != 1 {
				t.Errorf("want one header_refused %s event, got:\n%s", tc.event, logs)
			}
		})
	}
}

// TestHTTP2HostMismatch: an HTTP/2 request whose host field differs from
// :authority is refused; one whose host field agrees passes.
func TestHTTP2HostMismatch(t *testing.T) {
	e := start(t, nil, nil)
	authority := siteHost + ":" + e.httpsPrt
	send := func(host string) int {
		fields := [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", authority}, {":path", "/echo"}}
		if host != "" {
			fields = append(fields, [2]string{"host", host})
		}
		status, _ := e.h2(fields)
		return status
	}
	hits := e.up.hits.Load()
	if got := send("evil.test"); got != 400 {
		t.Errorf("host differing from :authority: status %d, want 400", got)
	}
	if e.up.hits.Load() != hits {
		t.Error("the upstream was contacted")
	}
	if !contains(e.logs.String(), `"event":"header_refused","reason":"host_mismatch"`) {
		t.Error("no host_mismatch event")
	}
	if got := send(authority); got != 200 {
		t.Errorf("host equal to :authority: status %d, want 200", got)
	}
	if got := send(""); got != 200 {
		t.Errorf(":authority alone: status %d, want 200", got)
	}
}

// TestEdgeRefererRule: over HTTPS an unsafe request with neither Origin
// nor Sec-Fetch-Site passes the edge only with a same-origin https
// Referer, as Django's CsrfViewMiddleware requires.
func TestEdgeRefererRule(t *testing.T) {
	e := start(t, nil, func(c *gateway.Config) { c.Edge.CSRFPaths = []string{"/app/"} })
	own := "https://" + siteHost + ":" + e.httpsPrt
	for _, tc := range []struct {
		name, path, referer string
		want                int
		reason              string
	}{
		{"same-origin referer", "/app/form", own + "/app/", 200, ""},
		{"attack: cross-origin referer", "/app/form", "https://evil.test/", 403, "bad_referer"},
		{"attack: no referer", "/app/form", "", 403, "no_referer"},
		{"attack: insecure referer", "/app/form", "http://" + siteHost + ":" + e.httpsPrt + "/", 403, "insecure_referer"},
		{"attack: malformed referer", "/app/form", "https://[bad/", 403, "malformed_referer"},
		{"path outside edge.csrf_paths (a webhook)", "/hooks/x", "", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hits := e.up.hits.Load()
			before := len(e.logs.String())
			defer func() {
				logs := e.logs.String()[before:]
				if tc.reason != "" && strings.Count(logs, `"event":"csrf_failure","reason":"`+tc.reason+`"`) != 1 {
					t.Errorf("want one csrf_failure %s event, got:\n%s", tc.reason, logs)
				}
			}()
			req, _ := http.NewRequest("POST", e.https+tc.path, strings.NewReader("a=1"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.referer != "" {
				req.Header.Set("Referer", tc.referer)
			}
			resp, body := e.do(req)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %q, want %d", resp.StatusCode, body, tc.want)
			}
			if tc.want == 403 && e.up.hits.Load() != hits {
				t.Error("the upstream was contacted")
			}
		})
	}
}

// h2 sends one HTTP/2 request with exactly the header fields given (pseudo
// headers first; net/http's client would not send a host field) and
// returns the status (-1 for a stream reset) and the body.
func (e *env) h2(fields [][2]string) (int, string) {
	t := e.t
	t.Helper()
	conn, err := tls.Dial("tcp", e.httpsLn.Addr().String(), &tls.Config{RootCAs: e.pool, ServerName: siteHost, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range fields {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	dec := hpack.NewDecoder(4096, nil)
	status := 0
	var body bytes.Buffer
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			hfs, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			for _, hf := range hfs {
				if hf.Name == ":status" {
					status, _ = strconv.Atoi(hf.Value)
				}
			}
			if f.StreamEnded() {
				return status, body.String()
			}
		case *http2.DataFrame:
			body.Write(f.Data())
			if len(f.Data()) > 0 {
				fr.WriteWindowUpdate(0, uint32(len(f.Data())))
				fr.WriteWindowUpdate(1, uint32(len(f.Data())))
			}
			if f.StreamEnded() {
				return status, body.String()
			}
		case *http2.RSTStreamFrame:
			return -1, ""
		case *http2.GoAwayFrame:
			return -2, ""
		}
	}
}
