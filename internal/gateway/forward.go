package gateway

import (
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// forwarder proxies what the direct transport takes (a bodiless GET, HEAD
// or OPTIONS to a plain-HTTP upstream) without httputil.ReverseProxy: the
// same outbound request (hop-by-hop headers removed, client forwarding
// headers dropped, then the gateway's rewrite), the same answer handling
// (hop-by-hop headers removed, the gateway's ModifyResponse, trailers,
// flushing for streams, an aborted answer when the upstream's body breaks
// off), with fewer copies: ReverseProxy deep-copies the request, copies
// every answer header value by value and parses each Content-Type, which
// was about a tenth of a proxied request's cost (docs/benchmarks.md, "Cost
// per request"). Everything else goes through ReverseProxy.
//
// TestForwarderMatchesReverseProxy sends the same requests through both
// and compares what the upstream and the client see.
type forwarder struct {
	t       *directTransport
	rewrite func(*httputil.ProxyRequest)
	modify  func(*http.Response) error
	onError func(http.ResponseWriter, *http.Request, error)
	buffers *bufferPool
}

// outbound is the forwarder's outbound request with its URL and the
// rewrite's argument, allocated together.
type outbound struct {
	req http.Request
	url url.URL
	pr  httputil.ProxyRequest
}

// takes reports whether r is forwarded here rather than by ReverseProxy.
func (f *forwarder) takes(r *http.Request) bool {
	return f != nil && f.t != nil && f.t.takesInbound(r)
}

// hopHeaders are the hop-by-hop headers (RFC 9110, section 7.6.1), which
// a proxy never forwards, as httputil.ReverseProxy lists them.
var hopHeaders = [...]string{
	"Connection",
	"Proxy-Connection", // non-standard, sent by some clients
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Te", // canonicalised "TE"
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// removeHopByHop deletes the hop-by-hop headers from h, and those the
// Connection header names, as httputil.ReverseProxy does.
func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// teTrailers is the TE value passed on when the client accepts trailers
// (shared: nothing writes into it).
var teTrailers = []string{"trailers"}

// emptyValue is an empty header value (shared: nothing writes into it).
var emptyValue = []string{""}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The outbound request: a shallow copy with its own URL and header.
	// The header's value slices are the inbound request's, shared: the
	// rewrite replaces or deletes entries, it never writes into a slice.
	// The copy, its URL and the rewrite's argument are one allocation.
	o := &outbound{req: *r, url: *r.URL}
	out := &o.req
	out.URL = &o.url
	h := make(http.Header, len(r.Header)+4)
	for k, vv := range r.Header {
		h[k] = vv
	}
	removeHopByHop(h)
	if httpguts.HeaderValuesContainsToken(r.Header["Te"], "trailers") {
		h["Te"] = teTrailers
	}
	// As ReverseProxy does before Rewrite: the client's forwarding
	// headers go; the rewrite states the gateway's own.
	delete(h, "Forwarded")
	delete(h, "X-Forwarded-For")
	delete(h, "X-Forwarded-Host")
	delete(h, "X-Forwarded-Proto")
	out.Header = h
	out.Body, out.ContentLength, out.Close = nil, 0, false
	out.RequestURI, out.TransferEncoding, out.Trailer = "", nil, nil
	out.Form, out.PostForm, out.MultipartForm = nil, nil, nil
	o.pr = httputil.ProxyRequest{In: r, Out: out}
	f.rewrite(&o.pr)
	if _, ok := out.Header["User-Agent"]; !ok {
		// As ReverseProxy: no Go default User-Agent the client did not send.
		out.Header["User-Agent"] = emptyValue
	}

	res, err := f.t.roundTripDirect(out, func(code int, hint http.Header) error {
		// An informational answer (103 Early Hints) passes on with what
		// the edge has set so far; the final answer gets the edge's
		// header back, without the hint's.
		wh := w.Header()
		saved := maps.Clone(wh)
		for k, vv := range hint {
			wh[k] = append(wh[k], vv...)
		}
		w.WriteHeader(code)
		clear(wh)
		maps.Copy(wh, saved)
		return nil
	})
	if err != nil {
		f.onError(w, out, err)
		return
	}
	removeHopByHop(res.Header)
	if err := f.modify(res); err != nil {
		res.Body.Close()
		f.onError(w, out, err)
		return
	}
	wh := w.Header()
	for k, vv := range res.Header {
		if prior, ok := wh[k]; ok {
			if len(prior) > 0 && isSingleHeader(k) {
				// The edge's value wins: the upstream's would be dropped
				// when the header is written (dedupe).
				continue
			}
			wh[k] = append(prior, vv...)
			continue
		}
		if isSharedValue(vv) {
			vv = append([]string(nil), vv...)
		}
		wh[k] = vv // the answer's own slice: nothing else holds it
	}
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		wh.Add("Trailer", strings.Join(keys, ", "))
	}
	w.WriteHeader(res.StatusCode)
	if announced > 0 {
		// Trailers need chunking: no Content-Length for a short body.
		_ = http.NewResponseController(w).Flush()
	}
	err = f.copyBody(w, res)
	res.Body.Close()
	if err != nil {
		// The upstream's body broke off (or the client went away): the
		// client must not see a complete-looking answer (a chunked
		// answer would otherwise end with its terminating chunk).
		panic(http.ErrAbortHandler)
	}
	if len(res.Trailer) == announced {
		for k, vv := range res.Trailer {
			wh[k] = append(wh[k], vv...)
		}
		return
	}
	for k, vv := range res.Trailer {
		k = http.TrailerPrefix + k
		for _, v := range vv {
			wh.Add(k, v)
		}
	}
}

// isSharedValue reports whether vv is one of the package's shared value
// slices (set by ModifyResponse), which must be copied before they go
// into a header others may extend.
func isSharedValue(vv []string) bool {
	return len(vv) == 1 && (&vv[0] == &octetStream[0] || &vv[0] == &nosniff[0])
}

// copyBody copies the answer's body to w with a pooled buffer, flushing
// after every write when the answer is a stream (an event stream, or a
// body of unknown length), as ReverseProxy does.
func (f *forwarder) copyBody(w http.ResponseWriter, res *http.Response) error {
	buf := f.buffers.Get()
	defer f.buffers.Put(buf)
	var rc *http.ResponseController
	if res.ContentLength == -1 || isEventStream(res.Header.Get("Content-Type")) {
		rc = http.NewResponseController(w)
	}
	for {
		n, rerr := res.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if rc != nil {
				if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// isEventStream reports whether a Content-Type is text/event-stream
// (parameters and case aside), without parsing it into a map.
func isEventStream(ct string) bool {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}
