package csrf_test

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/internal/testsvc"
)

// seen is one request the protected site received.
type seen struct {
	method, path, site, origin string
	status                     int
	failure                    error
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return l, port
}

var bankPage = template.Must(template.New("").Parse(`<!doctype html>
<title>bank</title>
<form id="transfer" method="post" action="/transfer">{{ .Field }}<input name="amount" value="10"><button id="send">Send</button></form>
<script>
async function sameOriginFetch() {
  const res = await fetch('/transfer', {method: 'POST', credentials: 'same-origin',
    headers: {'X-CSRFToken': {{ .Token }}}, body: new URLSearchParams({amount: '5'})});
  return res.status;
}
</script>`))

var evilForm = template.Must(template.New("").Parse(`<!doctype html>
<title>win a prize</title>
<form id="f" method="post" action="{{ . }}/transfer"><input name="amount" value="1000000"></form>
<script>document.getElementById('f').submit();</script>`))

var evilFetch = template.Must(template.New("").Parse(`<!doctype html>
<title>win a prize</title>
<script>
async function attack() {
  try {
    await fetch({{ . }} + '/transfer', {method: 'POST', credentials: 'include', mode: 'no-cors',
      headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'amount=1000000'});
  } catch (e) {}
  return 'sent';
}
</script>`))

// TestBrowserCrossSite drives a real Chromium against two loopback origins:
// the bank at http://localhost:<p1> and the attacker at
// http://127.0.0.1:<p2> (another site). The bank's own form post and
// fetch succeed; the attacker's self-submitting form and credentialed
// fetch are refused with 403 by the Fetch Metadata layer, and the
// balance does not move.
func TestBrowserCrossSite(t *testing.T) {
	opts := testsvc.Chromium(t)

	var transfers atomic.Int64
	var mu sync.Mutex
	var log []seen
	record := func(s seen) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	var lastFailure atomic.Value
	p := mustNew(t, csrf.Config{FailureHandler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastFailure.Store(csrf.FailureError(r))
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
	})})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		tok := csrf.Token(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		bankPage.Execute(w, map[string]any{"Field": csrf.TemplateField(r), "Token": tok})
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("amount") == "" {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "<title>done</title>transfers: %d", transfers.Add(1))
	})
	bank := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusRecorder{ResponseWriter: w}
		lastFailure.Store((*csrf.Error)(nil))
		p.Handler(mux).ServeHTTP(sw, r)
		s := seen{method: r.Method, path: r.URL.Path, site: r.Header.Get("Sec-Fetch-Site"), origin: r.Header.Get("Origin"), status: sw.status}
		if e, _ := lastFailure.Load().(*csrf.Error); e != nil {
			s.failure = e
		}
		record(s)
	})
	bankL, bankPort := listen(t)
	evilL, evilPort := listen(t)
	bankURL := "http://localhost:" + bankPort
	evilURL := "http://127.0.0.1:" + evilPort
	evilMux := http.NewServeMux()
	evilMux.HandleFunc("GET /form", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		evilForm.Execute(w, template.URL(bankURL))
	})
	evilMux.HandleFunc("GET /fetch", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		evilFetch.Execute(w, bankURL)
	})
	for l, h := range map[net.Listener]http.Handler{bankL: bank, evilL: evilMux} {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()

	waitFor := func(path string, n int) seen {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			var hits []seen
			for _, s := range log {
				if s.path == path && s.method == "POST" {
					hits = append(hits, s)
				}
			}
			mu.Unlock()
			if len(hits) >= n {
				return hits[n-1]
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the bank never received POST %s #%d", path, n)
		return seen{}
	}

	// 1. The bank's own form.
	if err := chromedp.Do(bctx, chromedp.Navigate(bankURL+"/form")); err != nil {
		t.Fatalf("bank page: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.ID("send")))); err != nil {
		t.Fatalf("same-origin form: %v", err)
	}
	if s := waitFor("/transfer", 1); s.status != 200 || s.site != "same-origin" {
		t.Fatalf("same-origin form post: %+v", s)
	}
	body, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil || !strings.Contains(body, "transfers: 1") {
		t.Fatalf("form response %q, %v", body, err)
	}

	// 2. The bank's own fetch, with the token in the header.
	if err := chromedp.Do(bctx, chromedp.Navigate(bankURL+"/form")); err != nil {
		t.Fatalf("bank page: %v", err)
	}
	status, err := chromedp.Run(bctx, chromedp.Evaluate[int](`sameOriginFetch()`, chromedp.EvalAwaitPromise))
	if err != nil || status != 200 {
		t.Fatalf("same-origin fetch: status %d, %v", status, err)
	}
	if s := waitFor("/transfer", 2); s.status != 200 || s.site != "same-origin" {
		t.Fatalf("same-origin fetch: %+v", s)
	}

	// 3. The attacker's self-submitting form.
	if err := chromedp.Do(bctx, chromedp.Navigate(evilURL+"/form")); err != nil {
		t.Fatalf("attacker form: %v", err)
	}
	s := waitFor("/transfer", 3)
	if s.status != 403 || s.site != "cross-site" || !errors.Is(s.failure, csrf.ErrCrossOrigin) {
		t.Fatalf("cross-site form post: %+v", s)
	}

	// 4. The attacker's credentialed fetch.
	if err := chromedp.Do(bctx, chromedp.Navigate(evilURL+"/fetch")); err != nil {
		t.Fatalf("attacker page: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[string](`attack()`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("attacker fetch: %v", err)
	}
	s = waitFor("/transfer", 4)
	if s.status != 403 || s.site != "cross-site" || s.origin != evilURL || !errors.Is(s.failure, csrf.ErrCrossOrigin) {
		t.Fatalf("cross-site fetch: %+v", s)
	}
	if got := transfers.Load(); got != 2 {
		t.Fatalf("the attacks moved money: %d transfers", got)
	}
}
