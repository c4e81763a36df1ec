package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
)

// attackRow is one request of the attack suite: a raw HTTP/1.1 request
// (or an HTTP/2 header list), the status the client must get and, when
// the request is forwarded, what the app must have received.
type attackRow struct {
	name string
	// req is the request as sent; "{host}" is replaced by the site's
	// host:port and "{m}" by the row's marker, which the request line
	// must carry (gunicorn's access log shows whether the app got it).
	req string
	// h2 are HTTP/2 header fields (pseudo-headers first) sent instead of
	// req when set.
	h2     [][2]string
	status int
	// check inspects what the app received (2xx rows only).
	check func(t *testing.T, rep testsvc.EchoReport)
	// header inspects the response headers the client got (HTTP/1 rows).
	header func(t *testing.T, h http.Header)
}

// multipartRaw builds a multipart body with one file.
func multipartRaw(field, name string, content []byte) (body, ctype string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("title", "holiday")
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write(content)
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

func post(target, ctype, body string, hdr ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: {host}\r\n", target)
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	if ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

func get(target string, hdr ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", target)
	hasHost := false
	for i := 0; i+1 < len(hdr); i += 2 {
		hasHost = hasHost || hdr[i] == "Host"
	}
	if !hasHost {
		b.WriteString("Host: {host}\r\n")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		fmt.Fprintf(&b, "%s: %s\r\n", hdr[i], hdr[i+1])
	}
	b.WriteString("\r\n")
	return b.String()
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestAttackSuiteDjango sends every attack class the gateway answers for
// through "bulwark serve" in front of Debian's gunicorn serving a Django
// app (internal/testsvc's echo app, settings as a Django site behind a
// TLS proxy: SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST and _PORT),
// and asserts what the app received: the report of its view for
// forwarded requests, and its access log for refused ones (nothing).
// Legitimate rows (forms, uploads, HTTP/2, a large download) must pass.
func TestAttackSuiteDjango(t *testing.T) {
	app := testsvc.StartGunicorn(t, testsvc.DjangoApp{Args: []string{"--access-logfile", "-"}})
	e := start(t, nil, func(c *gateway.Config) {
		c.Upstream.URL = app.URL
		c.Upstream.HealthPath = "/_ready"
		c.Upstream.HealthInterval = 5 * time.Second
		c.Uploads.Paths = []string{"/upload/"}
		c.Edge.CSRFPaths = []string{"/"}
		c.Forwarding.StripHeaders = []string{"Remote-User"}
	})
	port := e.httpsPrt
	hostport := siteHost + ":" + port
	clean := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<html><script>alert(document.cookie)</script>"))
	cleanBody, cleanCT := multipartRaw("avatar", "cat.png", clean)
	polyBody, polyCT := multipartRaw("avatar", "cat.png", polyglot)
	same := []string{"Sec-Fetch-Site", "same-origin"}
	sameAnd := func(kv ...string) []string { return append(append([]string(nil), same...), kv...) }
	absent := func(keys ...string) func(t *testing.T, rep testsvc.EchoReport) {
		return func(t *testing.T, rep testsvc.EchoReport) {
			for _, k := range keys {
				if v, ok := rep.Meta[k]; ok {
					t.Errorf("the app received %s = %q", k, v)
				}
			}
		}
	}
	trusted := func(t *testing.T, rep testsvc.EchoReport) {
		t.Helper()
		if rep.Scheme != "https" || !rep.IsSecure {
			t.Errorf("the app's scheme is %q", rep.Scheme)
		}
		if rep.RemoteAddr != "127.0.0.1" || rep.Meta["HTTP_X_FORWARDED_FOR"] != "127.0.0.1" {
			t.Errorf("the app's client: REMOTE_ADDR %q, X-Forwarded-For %q", rep.RemoteAddr, rep.Meta["HTTP_X_FORWARDED_FOR"])
		}
		if rep.Port != port {
			t.Errorf("the app's get_port() = %q, want the listener's %q", rep.Port, port)
		}
		if rep.Host != siteHost && rep.Host != hostport {
			t.Errorf("the app's get_host() = %q", rep.Host)
		}
		for k, v := range rep.Meta {
			if strings.Contains(v, "evil") || strings.Contains(v, "6.6.6.6") || strings.Contains(v, "6666") {
				t.Errorf("the app received %s = %q", k, v)
			}
		}
	}
	rows := []attackRow{
		// Legitimate traffic.
		{name: "form post", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1&b=2", same...), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.Post["a"][0] != "1" || rep.Post["b"][0] != "2" {
					t.Errorf("form: %v", rep.Post)
				}
			}},
		{name: "form post from an old browser with its Referer", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Referer", "https://{host}/form/"), status: 200},
		{name: "clean upload", req: post("/upload/avatar/?{m}", cleanCT, cleanBody, same...), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if f := rep.Files["avatar"]; len(f) != 1 || f[0].SHA256 != sha(clean) {
					t.Errorf("files: %v", rep.Files)
				}
			}},
		{name: "absolute URLs", req: get("/page/?{m}"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if !strings.HasPrefix(rep.AbsoluteURI, "https://"+hostport+"/page/?") {
					t.Errorf("build_absolute_uri() = %q", rep.AbsoluteURI)
				}
			},
			header: func(t *testing.T, h http.Header) {
				// The edge's security headers on the app's answer, once.
				for _, k := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy"} {
					if len(h.Values(k)) != 1 {
						t.Errorf("response %s = %q, want one value", k, h.Values(k))
					}
				}
			}},
		{name: "HTTP/2 get", h2: [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "{host}"}, {":path", "/h2/?{m}"}}, status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.Path != "/h2/" {
					t.Errorf("path %q", rep.Path)
				}
			}},

		// Duplicate singleton headers.
		{name: "attack: two Content-Type smuggle a multipart polyglot", req: post("/upload/avatar/?{m}", "", polyBody, sameAnd("Content-Type", "text/plain", "Content-Type", polyCT)...), status: 400},
		{name: "attack: two Content-Type on a path without inspection", req: post("/other/?{m}", "", polyBody, sameAnd("Content-Type", "text/plain", "Content-Type", polyCT)...), status: 400},
		{name: "attack: two Host-like values over HTTP/2", h2: [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "{host}"}, {":path", "/?{m}"}, {"host", "evil.test"}}, status: 400},
		{name: "attack: two Content-Type over HTTP/2", h2: [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "{host}"}, {":path", "/?{m}"}, {"content-type", "text/plain"}, {"content-type", "image/png"}}, status: 400},
		{name: "HTTP/2 cookie fields are one Cookie", h2: [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "{host}"}, {":path", "/?{m}"}, {"cookie", "a=1"}, {"cookie", "b=2"}}, status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.Meta["HTTP_COOKIE"] != "a=1; b=2" {
					t.Errorf("the app's Cookie: %q", rep.Meta["HTTP_COOKIE"])
				}
			}},
		{name: "attack: two Cookie", req: get("/?{m}", "Cookie", "sessionid=a", "Cookie", "sessionid=b"), status: 400},
		{name: "attack: two Origin", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Origin", "https://{host}", "Origin", "https://evil.test"), status: 400},
		{name: "attack: two Authorization", req: get("/?{m}", "Authorization", "Basic YTpi", "Authorization", "Basic Yzpk"), status: 400},

		// Names a WSGI server maps onto something else.
		{name: "attack: SCRIPT_NAME header re-roots the path", req: post("/x/upload/avatar/?{m}", polyCT, polyBody, sameAnd("Script_Name", "/x")...), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.ScriptName != "" || rep.PathInfo != "/x/upload/avatar/" {
					t.Errorf("gunicorn re-rooted the path: script_name %q path_info %q", rep.ScriptName, rep.PathInfo)
				}
			}},
		{name: "attack: underscore spellings of forwarded headers", req: get("/?{m}", "X_Forwarded_Proto", "http", "X_Forwarded_Host", "evil.test", "X_Forwarded_Port", "6666", "X_Forwarded_For", "6.6.6.6"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) { trusted(t, rep) }},
		{name: "attack: client-identity headers", req: get("/?{m}", "Client-IP", "6.6.6.6", "Forwarded-For", "6.6.6.6", "X-Real-IP", "6.6.6.6", "X-Client-IP", "6.6.6.6",
			"True-Client-IP", "6.6.6.6", "X-Cluster-Client-IP", "6.6.6.6", "CF-Connecting-IP", "6.6.6.6", "Fastly-Client-IP", "6.6.6.6", "Via", "1.1 evil",
			"X-Original-URL", "/admin/", "X-Rewrite-URL", "/admin/", "X-HTTP-Method-Override", "DELETE", "Remote-User", "admin"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				trusted(t, rep)
				absent("HTTP_CLIENT_IP", "HTTP_FORWARDED_FOR", "HTTP_X_REAL_IP", "HTTP_X_CLIENT_IP", "HTTP_TRUE_CLIENT_IP", "HTTP_X_CLUSTER_CLIENT_IP",
					"HTTP_CF_CONNECTING_IP", "HTTP_FASTLY_CLIENT_IP", "HTTP_VIA", "HTTP_X_ORIGINAL_URL", "HTTP_X_REWRITE_URL",
					"HTTP_X_HTTP_METHOD_OVERRIDE", "HTTP_REMOTE_USER")(t, rep)
			}},
		{name: "attack: forged scheme, host and port", req: get("/?{m}", "X-Forwarded-Proto", "http", "X-Forwarded-Host", "evil.test", "X-Forwarded-Port", "6666",
			"Forwarded", "for=6.6.6.6;proto=http;host=evil.test", "X-Forwarded-Prefix", "/evil", "X-Forwarded-Server", "evil.test"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				trusted(t, rep)
				absent("HTTP_FORWARDED", "HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_SERVER")(t, rep)
			}},

		// Ports and hosts.
		{name: "attack: client-chosen port", req: get("/?{m}", "Host", siteHost+":6666"), status: 400},
		{name: "host without port", req: get("/reset/?{m}", "Host", siteHost), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.Port != port || !strings.HasPrefix(rep.AbsoluteURI, "https://"+siteHost+"/reset/") {
					t.Errorf("port %q uri %q", rep.Port, rep.AbsoluteURI)
				}
			}},
		{name: "attack: disallowed host", req: get("/?{m}", "Host", "evil.test"), status: 400},
		{name: "attack: absolute-form target naming another host", req: get("https://evil.test/?{m}", "Host", "{host}"), status: 400},
		{name: "absolute-form target wins over the Host header", req: get("https://{host}/abs/?{m}", "Host", "evil.test"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				trusted(t, rep)
				if rep.Host != hostport {
					t.Errorf("the app's get_host() = %q, want %q", rep.Host, hostport)
				}
			}},

		// Paths.
		{name: "attack: dot segments into an upload view", req: post("/x/../upload/avatar/?{m}", polyCT, polyBody, same...), status: 400},
		{name: "attack: dot segments out of an upload path", req: post("/upload/../other/?{m}", polyCT, polyBody, same...), status: 400},
		{name: "attack: encoded dot segments on GET", req: get("/static/%2e%2e/admin/?{m}"), status: 400},
		{name: "attack: encoded slash", req: post("/upload%2Favatar/?{m}", polyCT, polyBody, same...), status: 400},
		{name: "attack: backslash", req: get("/upload\\avatar/?{m}"), status: 400},
		{name: "attack: doubled slashes around an upload path", req: post("//upload//avatar/?{m}", polyCT, polyBody, same...), status: 415},
		{name: "doubled slashes merged", req: get("//page//a/?{m}"), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.Path != "/page/a/" || rep.PathInfo != "/page/a/" {
					t.Errorf("path %q path_info %q", rep.Path, rep.PathInfo)
				}
			}},

		// Uploads and CSRF (the gateway's existing classes).
		{name: "attack: multipart polyglot", req: post("/upload/avatar/?{m}", polyCT, polyBody, same...), status: 415},
		{name: "attack: cross-site post", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.test"), status: 403},
		{name: "attack: foreign Origin without fetch metadata", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Origin", "https://evil.test"), status: 403},
		{name: "attack: cross-origin Referer only", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Referer", "https://evil.test/form"), status: 403},
		{name: "attack: http Referer only", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1", "Referer", "http://{host}/form"), status: 403},
		{name: "attack: no signal at all", req: post("/form/?{m}", "application/x-www-form-urlencoded", "a=1"), status: 403},

		// Bodies that are not forms, and bodies that are not whole (the
		// buffering layer reads every body before the app sees it).
		{name: "attack: raw polyglot upload", req: "PUT /upload/avatar/?{m} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: image/png\r\nContent-Length: " + strconv.Itoa(len(polyglot)) + "\r\n\r\n" + string(polyglot), status: 415},
		{name: "raw image upload", req: "PUT /upload/avatar/?{m} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: image/png\r\nContent-Length: " + strconv.Itoa(len(clean)) + "\r\n\r\n" + string(clean), status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.BodySHA256 != sha(clean) {
					t.Errorf("the app's body: %v bytes, sha256 %s", rep.BodySize, rep.BodySHA256)
				}
			}},
		{name: "chunked body reaches the app whole", req: "POST /other/?{m} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", status: 200,
			check: func(t *testing.T, rep testsvc.EchoReport) {
				if rep.BodySHA256 != sha([]byte("abc")) || rep.ContentLength != "3" {
					t.Errorf("the app's body: %v bytes (CONTENT_LENGTH %q)", rep.BodySize, rep.ContentLength)
				}
			}},
		{name: "attack: malformed chunked body", req: "POST /other/?{m} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", status: 400},

		// Framing.
		{name: "attack: CL+TE", req: "POST /cl-te/?{m} HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /smuggled/?{m}-smuggled HTTP/1.1\r\nHost: {host}\r\n\r\n", status: 400},
		{name: "attack: HTTP/1.0 with TE", req: "POST /te-10/?{m} HTTP/1.0\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", status: 400},
	}
	markers := map[string]bool{} // marker -> forwarded
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			m := "row" + strconv.Itoa(i) + "x"
			markers[m] = row.status/100 == 2
			var status int
			var body string
			if row.h2 != nil {
				var fields [][2]string
				for _, f := range row.h2 {
					fields = append(fields, [2]string{f[0], strings.NewReplacer("{host}", hostport, "{m}", m).Replace(f[1])})
				}
				status, body = e.h2(fields)
			} else {
				clte := strings.Contains(row.name, "CL+TE") || strings.Contains(row.name, "with TE")
				res := e.rawConn(strings.NewReplacer("{host}", hostport, "{m}", m).Replace(row.req), clte)
				status, body = res.status, res.body
				if clte && !res.closed {
					t.Error("the connection stayed open after a request with Content-Length and Transfer-Encoding")
				}
				if row.header != nil {
					row.header(t, res.header)
				}
			}
			if status != row.status {
				t.Fatalf("status %d, want %d: %.300s", status, row.status, body)
			}
			if status/100 != 2 {
				if strings.TrimSpace(body) != http.StatusText(status) {
					t.Errorf("body %q, want the status text", body)
				}
				return
			}
			var rep testsvc.EchoReport
			if err := json.Unmarshal([]byte(body), &rep); err != nil {
				t.Fatalf("not the app's report: %v: %.300s", err, body)
			}
			if !strings.Contains(rep.Query, m) {
				t.Errorf("the app's query %q lacks the marker", rep.Query)
			}
			if row.check != nil {
				row.check(t, rep)
			}
		})
	}
	// Plain HTTP is redirected, never forwarded.
	t.Run("attack: plain HTTP", func(t *testing.T) {
		markers["plainhttpx"] = false
		req, _ := http.NewRequest("POST", e.http+"/form/?plainhttpx", strings.NewReader("a=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ := e.do(req)
		if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://"+siteHost+":"+port+"/form/") {
			t.Errorf("plain HTTP: %d to %q, want 301 to https", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	// The app's access log: every forwarded row once, no refused row, no
	// smuggled request. A last request flushes the workers' logs.
	res := e.raw(strings.NewReplacer("{host}", hostport).Replace(get("/?lastrow")))
	if res.status != 200 {
		t.Fatalf("last request: %d", res.status)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(app.Log(), "lastrow") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	log := app.Log()
	for m, forwarded := range markers {
		if got := strings.Contains(log, m+" HTTP") || strings.Contains(log, m+"&") || strings.Contains(log, "?"+m+" "); got != forwarded {
			t.Errorf("marker %s in the app's access log = %v, want %v", m, got, forwarded)
		}
		if strings.Contains(log, m+"-smuggled") {
			t.Errorf("a smuggled request reached the app (%s)", m)
		}
	}
	if t.Failed() {
		t.Logf("gunicorn log:\n%s", strings.ReplaceAll(log, "\"GET /_ready HTTP/1.1\" 200", ""))
	}
}

// TestLargeDownloadThroughDjango: a streamed 64 MiB response from the app
// reaches the client whole through the gateway.
func TestLargeDownloadThroughDjango(t *testing.T) {
	app := testsvc.StartGunicorn(t, testsvc.DjangoApp{})
	e := start(t, nil, func(c *gateway.Config) { c.Upstream.URL = app.URL; c.Upstream.HealthPath = "/_ready" })
	for _, h2 := range []bool{false, true} {
		c := e.newClient(h2)
		// What is measured is completeness, not speed: under the race
		// detector on a loaded machine 64 MiB can take a minute.
		c.Timeout = 3 * time.Minute
		resp, err := c.Get(e.https + "/_stream/64/")
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || n != 64<<20 || resp.StatusCode != 200 {
			t.Errorf("h2=%v: status %d, %d bytes, %v", h2, resp.StatusCode, n, err)
		}
	}
}
