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

// TestScanProxyDjango scans a real Django (Debian's gunicorn and
// python3-django; the echo app is configured as behind a TLS proxy:
// SECURE_PROXY_SSL_HEADER, USE_X_FORWARDED_HOST, ALLOWED_HOSTS = ["*"])
// behind two TLS proxies. The careless one passes the client's
// X-Forwarded-* headers on: the forwarded-header probes must see Django
// believe them (the claimed host and scheme come back in its absolute
// URLs). The careful one refuses unknown hosts and overwrites the
// headers, as nginx's proxy_set_header does: nothing is reported.
func TestScanProxyDjango(t *testing.T) {
	g := testsvc.StartGunicorn(t, testsvc.DjangoApp{})
	up, err := url.Parse(g.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		careful bool
		want    []string // "ID key" present
		absent  []string // "ID key" absent
	}{
		{"careless", false, []string{"BW220 X-Forwarded-Host", "BW239 X-Forwarded-Proto", "BW219 Host"}, nil},
		{"careful", true, nil, []string{"BW220 X-Forwarded-Host", "BW239 X-Forwarded-Proto", "BW240 X-Forwarded-For", "BW219 Host", "BW220 Host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSite(t, 0, func(port int) http.Handler {
				self := "127.0.0.1:" + strconv.Itoa(port)
				proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
					r.SetURL(up)
					r.Out.Host = r.In.Host
					if tc.careful {
						r.SetXForwarded() // overwrite: the client's own are dropped
						return
					}
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
					if tc.careful && r.Host != self {
						http.Error(w, "Bad Request", http.StatusBadRequest)
						return
					}
					if r.TLS == nil {
						http.Redirect(w, r, "https://"+self+r.URL.RequestURI(), http.StatusMovedPermanently)
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
			for _, w := range tc.want {
				if !found[w] {
					t.Errorf("missing %s in %v", w, rep.Findings)
				}
			}
			for _, a := range tc.absent {
				if found[a] {
					t.Errorf("unexpected %s in %v", a, rep.Findings)
				}
			}
		})
	}
}
