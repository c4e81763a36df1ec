// Command goproxy is the "bare Go proxy" of the gateway throughput
// benchmark (scripts/bench-gateway.sh): httputil.ReverseProxy with Rewrite
// and SetXForwarded, HSTS, a 10 MB body cap and an HTTP listener that
// redirects, with the same upstream transport tuning as the gateway (so
// the comparison measures Bulwark's protections, not connection reuse).
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	httpAddr := flag.String("http", "127.0.0.1:18083", "redirect listener")
	httpsAddr := flag.String("https", "127.0.0.1:18446", "HTTPS listener")
	upstream := flag.String("upstream", "http://127.0.0.1:18000", "upstream URL")
	cert := flag.String("cert", "", "certificate chain (PEM)")
	key := flag.String("key", "", "private key (PEM)")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil {
		log.Fatal(err)
	}
	_, httpsPort, _ := net.SplitHostPort(*httpsAddr)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload")
		r.Body = http.MaxBytesReader(w, r.Body, 10<<20)
		rp.ServeHTTP(w, r)
	})
	go func() {
		redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			http.Redirect(w, r, "https://"+net.JoinHostPort(host, httpsPort)+r.URL.RequestURI(), http.StatusMovedPermanently)
		})
		log.Fatal((&http.Server{Addr: *httpAddr, Handler: redirect, ReadHeaderTimeout: 5 * time.Second}).ListenAndServe())
	}()
	s := &http.Server{Addr: *httpsAddr, Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	log.Fatal(s.ListenAndServeTLS(*cert, *key))
}
