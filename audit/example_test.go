package audit_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/bulwarkdev/bulwark/audit"
)

// A site that builds its links from the Host header is open to host-header
// injection (poisoned password-reset links); Scan sends a foreign Host and
// sees it answered and reflected.
func ExampleScan() {
	site := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<a href="https://%s/reset?token=...">reset your password</a>`, r.Host)
	}))
	site.Config.ErrorLog = log.New(io.Discard, "", 0)
	site.StartTLS()
	defer site.Close()
	roots := x509.NewCertPool()
	roots.AddCert(site.Certificate())

	rep, err := audit.Scan(context.Background(), site.URL, audit.ScanOptions{
		RootCAs: roots,
		HTTPURL: "http://127.0.0.1:1/", // no plain-HTTP listener in this example
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range rep.Findings {
		if f.ID == "BW219" || f.ID == "BW220" {
			fmt.Println(f.ID, f.Severity, f.Key)
		}
	}
	// Output:
	// BW219 error Host
	// BW220 error Host
	// BW219 error request-target
	// BW220 error request-target
}
