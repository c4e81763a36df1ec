package gateway_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// The gateway in front of an app: a forged X-Forwarded-Proto and
// X-Forwarded-For never reach the app, which sees what the gateway saw;
// a request for a host the site does not serve is refused at the edge.
func Example() {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"host":  r.Host,
			"proto": r.Header.Get("X-Forwarded-Proto"),
			"for":   r.Header.Get("X-Forwarded-For"),
			"real":  r.Header.Get("X-Real-Ip"),
		})
	}))
	defer app.Close()

	var cfg gateway.Config
	cfg.Upstream.URL = app.URL
	cfg.Hosts.Allowed = []string{"example.com"}
	cfg.TLS.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, nil } // no TLS here
	cfg.Listen.Admin = gateway.Off
	g, err := gateway.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	defer g.Close()

	// An HTTPS request whose client claims to be 6.6.6.6 behind plain HTTP.
	r := httptest.NewRequest("GET", "https://example.com/account", nil)
	r.RemoteAddr = "203.0.113.7:51000"
	r.Header.Set("X-Forwarded-Proto", "http")
	r.Header.Set("X-Forwarded-For", "6.6.6.6")
	r.Header.Set("X-Real-IP", "6.6.6.6")
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	body, _ := io.ReadAll(w.Result().Body)
	fmt.Printf("%d %s", w.Code, body)

	// Another host: refused before the app.
	r = httptest.NewRequest("GET", "https://evil.example/account", nil)
	w = httptest.NewRecorder()
	g.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// 200 {"for":"203.0.113.7","host":"example.com","proto":"https","real":""}
	// 400 Bad Request
}
