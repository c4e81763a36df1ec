package audit_test

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// TestScanCarelessProxyDjango scans a real Django (Debian's gunicorn and
// python3-django, the echo app configured as behind a TLS proxy:
// SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST, ALLOWED_HOSTS = ["*"])
// behind a careless TLS proxy that passes the client's X-Forwarded-*
// headers on instead of overwriting them. The forwarded-header probes
// must see that Django believes them: the claimed host comes back in its
// absolute URLs (BW220 on X-Forwarded-Host) and so does the claimed
// scheme (BW239).
func TestScanCarelessProxyDjango(t *testing.T) {
	g := testsvc.StartGunicorn(t, testsvc.DjangoApp{})
	up, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := startSite(t, 0, func(port int) http.Handler {
		proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(up)
			r.Out.Host = r.In.Host
			// The careless part: the client's forwarded headers go on.
			for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-For"} {
				if v := r.In.Header.Values(h); len(v) > 0 {
					r.Out.Header[h] = v
				}
			}
			if r.Out.Header.Get("X-Forwarded-Proto") == "" {
				r.Out.Header.Set("X-Forwarded-Proto", "https")
			}
		}}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS == nil {
				http.Redirect(w, r, "https://127.0.0.1:"+strconv.Itoa(port)+r.URL.RequestURI(), http.StatusMovedPermanently)
				return
			}
			proxy.ServeHTTP(w, r)
		})
	})
	rep := scan(t, s, audit.ScanOptions{})
	found := map[string]bool{}
	for _, f := range rep.Findings {
		found[f.ID+" "+f.Key] = true
	}
	for _, want := range []string{"BW220 X-Forwarded-Host", "BW239 X-Forwarded-Proto", "BW219 Host"} {
		if !found[want] {
			t.Errorf("missing %s in %v", want, rep.Findings)
		}
	}
}
