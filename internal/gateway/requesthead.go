package gateway

import (
	"bufio"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// writeRequestHead writes the head of a bodiless GET, HEAD or OPTIONS
// request to bw exactly as (*http.Request).Write writes it (the request
// line, Host, User-Agent, then the other headers sorted by name, values
// with CR and LF turned to spaces and trimmed, names that are not tokens
// dropped), without Write's allocations and generic framing. It reports
// false, having written nothing, for any request it does not write the
// same way Write would: then the caller uses Write. FuzzRequestHead holds
// the two to the same bytes.
func writeRequestHead(bw *bufio.Writer, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if r.Body != nil && r.Body != http.NoBody || r.ContentLength != 0 || r.Close ||
		r.TransferEncoding != nil || r.Trailer != nil || r.URL == nil || r.URL.Opaque != "" {
		return false
	}
	host := r.Host
	if host == "" {
		host = r.URL.Host
	}
	// Write punycodes a non-ASCII host, blanks an invalid one and strips
	// an IPv6 zone: none of that here.
	for i := 0; i < len(host); i++ {
		if c := host[i]; c >= 0x80 || c == '%' {
			return false
		}
	}
	if !httpguts.ValidHostHeader(host) {
		return false
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if hasCTL(path) || hasCTL(r.URL.RawQuery) {
		return false // Write's error, from Write
	}

	var keysArr [24]string
	keys := keysArr[:0]
	for k := range r.Header {
		switch k {
		case "Host", "User-Agent", "Content-Length", "Transfer-Encoding", "Trailer":
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)

	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(path)
	if r.URL.ForceQuery || r.URL.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(r.URL.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	ua, ok := r.Header["User-Agent"]
	if !ok {
		writeHeaderLine(bw, "User-Agent", "Go-http-client/1.1")
	} else if len(ua) > 0 && ua[0] != "" {
		writeHeaderLine(bw, "User-Agent", ua[0])
	}
	for _, k := range keys {
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range r.Header[k] {
			writeHeaderLine(bw, k, v)
		}
	}
	bw.WriteString("\r\n")
	return true
}

// writeHeaderLine writes "k: v\r\n", with v as Write sends a value: CR
// and LF become spaces, then textproto.TrimString. A value empty after
// that is still written, as Write writes it.
func writeHeaderLine(bw *bufio.Writer, k, v string) {
	if strings.ContainsAny(v, "\r\n") {
		v = newlineToSpace.Replace(v)
	}
	bw.WriteString(k)
	bw.WriteString(": ")
	bw.WriteString(textproto.TrimString(v))
	bw.WriteString("\r\n")
}

// newlineToSpace is net/http's headerNewlineToSpace.
var newlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// hasCTL reports whether s holds a control byte (below 0x20, or DEL),
// which Write refuses in a request target.
func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < ' ' || b == 0x7f {
			return true
		}
	}
	return false
}
