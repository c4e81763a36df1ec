// Command backend is the upstream of the gateway throughput benchmark
// (scripts/bench-gateway.sh): a tiny app answering 200 with a short body,
// on plain HTTP (for the proxies) and HTTPS (measured alone).
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"time"
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:18000", "plain HTTP address")
	httpsAddr := flag.String("https", "127.0.0.1:18443", "HTTPS address")
	cert := flag.String("cert", "", "certificate chain (PEM)")
	key := flag.String("key", "", "private key (PEM)")
	flag.Parse()
	body := []byte("hello from the backend\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(body)
	})
	newServer := func(addr string) *http.Server {
		return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	}
	if *cert != "" {
		s := newServer(*httpsAddr)
		go func() { log.Fatal(s.ListenAndServeTLS(*cert, *key)) }()
	}
	log.Fatal(newServer(*httpAddr).ListenAndServe())
}
