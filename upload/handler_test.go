package upload_test

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

func chain(t *testing.T, logs io.Writer, lc limits.Config, next http.Handler) http.Handler {
	t.Helper()
	lg := slog.New(slog.NewJSONHandler(logs, nil))
	lc.Logger = lg
	l, err := limits.New(lc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := upload.New(upload.Config{TempDir: t.TempDir(), Logger: lg})
	if err != nil {
		t.Fatal(err)
	}
	return l.Handler(u.Handler(next))
}

func TestHandler(t *testing.T) {
	png := string(uploadcorpus.PNG())
	polyglot := string(uploadcorpus.PNGChunk(uploadcorpus.PNG(), "tEXt", []byte("c\x00<script>alert(1)</script>")))
	// A boundary longer than Django's limit, which mime/multipart accepts.
	long := strings.Repeat("b", 202)
	html := strings.ReplaceAll(filePart("f", "x.png", "<html><script>x</script>")+end, "XyZ", long)
	for _, tc := range []struct {
		name   string
		ct     string
		body   string
		status int
		event  string
	}{
		{"benign png", ct, field("title", "cat") + filePart("f", "cat.png", png) + end, 200, ""},
		{"urlencoded form passes through", "application/x-www-form-urlencoded", "a=1&b=2", 200, ""},
		// A body that is not a form is inspected as one file.
		{"raw png accepted", "image/png", png, 200, ""},
		{"raw png without a type accepted", "application/octet-stream", png, 200, ""},
		{"raw polyglot refused", "image/png", polyglot, 415, `"event":"upload_refused","reason":"polyglot_html"`},
		{"raw html as png refused", "image/png", "<html><script>x</script>", 415, `"event":"upload_refused","reason":"html"`},
		{"raw png declared gif refused", "image/gif", png, 415, `"event":"upload_refused","reason":"type_mismatch"`},
		{"raw json passes as data", "application/json", `{}`, 200, ""},
		{"polyglot refused", ct, filePart("f", "cat.png", polyglot) + end, 415, `"event":"upload_refused","reason":"polyglot_html"`},
		{"html as png refused", ct, filePart("f", "cat.png", "<html><script>x</script>") + end, 415, `"event":"upload_refused","reason":"html"`},
		{"too many files", ct, strings.Repeat(filePart("f", "a.png", png), 101) + end, 400, `"event":"too_many_files","reason":"max_files",`},
		{"malformed", ct, field("a", "1"), 400, `"event":"upload_malformed"`},
		{"bad boundary", "multipart/form-data; boundary=", end, 400, `"event":"upload_malformed"`},
		// Go's mime.ParseMediaType takes these as multipart and its reader
		// accepts a boundary of any length: they must not pass uninspected.
		{"odd case, long boundary", "MultiPart/form-data; boundary=" + long, html, 400, `"event":"upload_malformed"`},
		{"leading space, long boundary", " multipart/form-data; boundary=" + long, html, 400, `"event":"upload_malformed"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			var got *upload.Form
			h := chain(t, &logs, limits.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = upload.FormFrom(r)
			}))
			r := httptest.NewRequest("POST", "/upload", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; logs %s", w.Code, tc.status, logs.String())
			}
			if tc.status != 200 {
				if w.Body.String() != http.StatusText(tc.status)+"\n" {
					t.Errorf("body %q", w.Body.String())
				}
				if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), tc.event) {
					t.Errorf("want one event with %s, got %s", tc.event, logs.String())
				}
				return
			}
			if tc.ct == ct {
				if got == nil || len(got.File["f"]) != 1 || got.File["f"][0].Verdict.Type != "image/png" {
					t.Fatalf("form %+v", got)
				}
			}
		})
	}
}

// TestLyingContentLength sends raw requests whose Content-Length is false.
func TestLyingContentLength(t *testing.T) {
	var logs bytes.Buffer
	srv := httptest.NewServer(chain(t, &logs, limits.Config{Values: limits.Values{MaxBodyBytes: 4096}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	body := field("a", "1") + filePart("f", "a.png", string(uploadcorpus.PNG())) + end
	big := field("a", "1") + filePart("f", "a.png", strings.Repeat("x", 8000)) + end
	for _, tc := range []struct {
		name    string
		headers string
		body    string
		status  string
	}{
		{"honest", "Content-Length: " + strconv.Itoa(len(body)), body, "200"},
		{"shorter than the body", "Content-Length: 40", body, "400"},
		{"longer than the body", "Content-Length: " + strconv.Itoa(len(body)+500), body, "400"},
		{"declared over the cap", "Content-Length: 5000", big, "413"},
		{"understated, over the cap", "Content-Length: 1000", big, "400"},
		{"chunked over the cap", "Transfer-Encoding: chunked", chunked(big), "413"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Type: "+ct+"\r\n"+tc.headers+"\r\n\r\n"+tc.body)
			c.(*net.TCPConn).CloseWrite()
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(line, " "+tc.status+" ") {
				t.Fatalf("status line %q, want %s", line, tc.status)
			}
		})
	}
}

func chunked(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		n := min(len(s), 1000)
		b.WriteString(strconv.FormatInt(int64(n), 16) + "\r\n" + s[:n] + "\r\n")
		s = s[n:]
	}
	return b.String() + "0\r\n\r\n"
}

func TestStorage(t *testing.T) {
	dir := t.TempDir()
	s, err := upload.NewStorage(upload.StorageConfig{Dir: dir, FilePermissions: 0o640, DirectoryPermissions: 0o750})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := filePart("f", "../../etc/passwd\u2215..\uff0fcat.png", string(uploadcorpus.PNG())) + end
	form, err := upload.ReadForm(strings.NewReader(body), ct, limits.Default(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer form.RemoveAll()
	f := form.File["f"][0]
	u, err := upload.New(upload.Config{Storage: upload.StorageConfig{Dir: dir, FilePermissions: 0o640, DirectoryPermissions: 0o750}})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Save(f); err != upload.ErrNotInspected {
		t.Fatalf("Save before Inspect: %v", err)
	}
	rc, _ := f.Open()
	f.Verdict, _ = inspect.File(rc, f.Filename, inspect.Policy{})
	rc.Close()
	name, err := s.Save(f)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[a-z2-7]{2}/[a-z2-7]{32}\.png$`).MatchString(name) {
		t.Fatalf("storage name %q", name)
	}
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("stored file: %v %v", fi, err)
	}
	di, _ := os.Stat(filepath.Join(dir, filepath.Dir(name)))
	if di.Mode().Perm() != 0o750 {
		t.Errorf("directory mode %v", di.Mode().Perm())
	}
	root, _ := os.OpenRoot(dir)
	defer root.Close()
	h, _ := media.New(media.Config{Hosts: []string{"m.example.net"}, SiteHosts: []string{"example.com"}, Dir: dir})
	defer h.Close()
	r := httptest.NewRequest("GET", "/"+name, nil)
	r.Host = "m.example.net"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || w.Header().Get("Content-Type") != "image/png" {
		t.Fatalf("served %d %v", w.Code, w.Header())
	}
	// The client's name survives only as an encoded label.
	if cd := w.Header().Get("Content-Disposition"); !strings.Contains(cd, "filename*=UTF-8''cat.png") && !strings.Contains(cd, "%E2%88%95") {
		t.Errorf("Content-Disposition %q", cd)
	}
}

func TestStorageConfig(t *testing.T) {
	for _, c := range []upload.StorageConfig{
		{Dir: t.TempDir(), FilePermissions: 0o755},
		{Dir: t.TempDir(), FilePermissions: os.ModeSetuid | 0o644},
		{Dir: ""},
		{Dir: filepath.Join(t.TempDir(), "missing")},
	} {
		if _, err := upload.NewStorage(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestBodyOverCapOneEvent(t *testing.T) {
	var logs bytes.Buffer
	h := chain(t, &logs, limits.Config{Values: limits.Values{MaxBodyBytes: 2048}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("application reached")
	}))
	body := filePart("f", "a.png", strings.Repeat("x", 5000)) + end
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", ct)
	r.ContentLength = -1 // as with chunked encoding
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 413 {
		t.Fatalf("status %d", w.Code)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), `"event":"request_too_large","reason":"max_body_bytes",`) || !strings.Contains(logs.String(), `"limit":2048`) {
		t.Fatalf("want exactly one request_too_large event, got %s", logs.String())
	}
}

func TestHandlerForward(t *testing.T) {
	for _, size := range []int{100, 300 << 10} {
		tmp := t.TempDir()
		u, err := upload.New(upload.Config{TempDir: tmp, Forward: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		// Files are streamed without the memory threshold mattering here;
		// force the raw copy to disk for the large case.
		lim := limits.Default()
		lim.FileMemoryThreshold = 64 << 10
		png := uploadcorpus.PNGChunk(uploadcorpus.PNG(), "zzZz", bytes.Repeat([]byte("a"), size))
		body := field("a", "1") + filePart("f", "a.png", string(png)) + end + "epilogue"
		var got []byte
		var gotLen int64
		h := u.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = io.ReadAll(r.Body)
			gotLen = r.ContentLength
			if _, ok := upload.FormFrom(r); !ok {
				t.Error("no form")
			}
		}))
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		r.ContentLength = -1
		r = limits.With(r, lim)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || string(got) != body || gotLen != int64(len(body)) {
			t.Fatalf("size %d: status %d, forwarded %d bytes (Content-Length %d), want %d", size, w.Code, len(got), gotLen, len(body))
		}
		if r.Header.Get("Content-Length") != "" {
			t.Error("the incoming request's header was modified")
		}
		emptyDir(t, tmp)
	}
}

func TestHandlerEmptyMultipart(t *testing.T) {
	var logs bytes.Buffer
	reached := false
	h := chain(t, &logs, limits.Config{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := upload.FormFrom(r)
		reached = ok && len(f.Value) == 0 && len(f.File) == 0
	}))
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !reached {
		t.Fatalf("status %d, reached %v, logs %s", w.Code, reached, logs.String())
	}
}

func TestParseReencode(t *testing.T) {
	u, err := upload.New(upload.Config{TempDir: t.TempDir(), Reencode: true})
	if err != nil {
		t.Fatal(err)
	}
	// A JPEG whose comment is harmless text is accepted, then rewritten:
	// the comment is gone.
	j := uploadcorpus.JPEGComment(uploadcorpus.JPEG(), "camera: test model")
	r := httptest.NewRequest("POST", "/", strings.NewReader(filePart("f", "a.jpg", string(j))+end))
	r.Header.Set("Content-Type", ct)
	form, err := u.Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	defer form.RemoveAll()
	f := form.File["f"][0]
	rc, _ := f.Open()
	data, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(data, []byte("camera: test model")) || int64(len(data)) != f.Size {
		t.Fatalf("re-encoded file still carries the comment (or size %d != %d)", f.Size, len(data))
	}
	if v, _ := inspect.File(bytes.NewReader(data), "a.jpg", inspect.Policy{}); !v.Allowed {
		t.Fatalf("re-encoded file refused: %+v", v)
	}
	if _, err := upload.New(upload.Config{Reencode: true, Forward: true}); err == nil {
		t.Error("reencode with forward accepted")
	}
}
