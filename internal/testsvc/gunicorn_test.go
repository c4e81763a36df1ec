package testsvc_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// TestGunicornEcho checks the harness itself: gunicorn (Debian's) serves
// the echo app, which reports what Django made of a request, including
// the WSGI mappings the gateway tests care about (SCRIPT_NAME from a
// header, X-Forwarded-* under USE_X_FORWARDED_HOST/PORT).
func TestGunicornEcho(t *testing.T) {
	g := testsvc.StartGunicorn(t, testsvc.DjangoApp{})

	get := func(t *testing.T, req *http.Request) testsvc.EchoReport {
		t.Helper()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var rep testsvc.EchoReport
		if err := json.NewDecoder(res.Body).Decode(&rep); err != nil {
			t.Fatalf("status %d: %v\n%s", res.StatusCode, err, g.Log())
		}
		return rep
	}

	req, _ := http.NewRequest("GET", g.URL+"/x/upload/avatar/?a=1", nil)
	req.Host = "site.test:6666"
	req.Header.Set("Script_Name", "/x")
	req.Header.Set("X-Forwarded-Proto", "https")
	rep := get(t, req)
	if rep.PathInfo != "/upload/avatar/" || rep.ScriptName != "/x" {
		t.Errorf("gunicorn did not re-root by the SCRIPT_NAME header: %v", rep)
	}
	if rep.Host != "site.test:6666" || rep.AbsoluteURI != "https://site.test:6666/x/upload/avatar/?a=1" || !rep.IsSecure {
		t.Errorf("host/uri: %v", rep)
	}

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("avatar", "a.png")
	fw.Write([]byte("\x89PNG\r\n\x1a\nnot really"))
	mw.WriteField("title", "hello")
	mw.Close()
	req, _ = http.NewRequest("POST", g.URL+"/upload/", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rep = get(t, req)
	if len(rep.Files["avatar"]) != 1 || rep.Files["avatar"][0].Name != "a.png" || rep.Post["title"][0] != "hello" {
		t.Errorf("multipart: %v post=%v", rep, rep.Post)
	}

	req, _ = http.NewRequest("PUT", g.URL+"/raw", bytes.NewReader([]byte("12345")))
	req.Header.Set("Content-Type", "image/png")
	rep = get(t, req)
	if rep.BodySize == nil || *rep.BodySize != 5 {
		t.Errorf("raw body: %v", rep)
	}
}
