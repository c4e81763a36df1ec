package audit

// ProbeInfo documents one probe of Scan: what it sends and which rules it
// can fire. docs/checks.md lists them.
type ProbeInfo struct {
	// N is the probe's number in the scan's order.
	N int `json:"n"`
	// Name names the probe (a report's Probe.Name names each of its
	// requests more precisely).
	Name string `json:"name"`
	// Sends says what is sent, and how many requests or handshakes.
	Sends string `json:"sends"`
	// Rules are the IDs the probe can report.
	Rules []string `json:"rules"`
}

// ScanProbes lists Scan's probes in order. Every request is a GET (or a
// malformed GET a server must refuse) except the CSRF POSTs, sent only to
// paths named in ScanOptions.PostPaths; everything goes to the scanned
// host, except the media probe, which goes to the URLs named in
// ScanOptions.MediaURLs.
func ScanProbes() []ProbeInfo {
	return []ProbeInfo{
		{1, "http redirect", "GET of the plain-HTTP URL, following same-host redirects (at most 10); a TLS handshake with each https:// target", []string{"BW201", "BW202", "BW203", "BW204", "BW234", "BW260"}},
		{2, "https get", "GET of the HTTPS URL, following same-host redirects (at most 5); without a trusted certificate, once more without verification", []string{"BW205", "BW206", "BW207", "BW208", "BW209", "BW210", "BW211", "BW212", "BW213", "BW214", "BW215", "BW216", "BW217", "BW218", "BW224", "BW226", "BW248", "BW249"}},
		{3, "host header", "GET with Host: evil.example, a GET with an absolute-form target naming evil.example, and a GET with X-Forwarded-Host: evil.example, on HTTPS and on plain HTTP (6)", []string{"BW219", "BW220", "BW235"}},
		{4, "cors origin", "GET with Origin: https://evil.example, then Origin: null (2)", []string{"BW236", "BW237", "BW238"}},
		{5, "x-forwarded-proto", "plain-HTTP GET with X-Forwarded-Proto: https, HTTPS GET with X-Forwarded-Proto: http, HTTPS GET with X-Forwarded-For: 203.0.113.77 (3)", []string{"BW239", "BW240"}},
		{6, "framing", "on connections of their own: two Host headers; two Content-Type headers; Content-Length: 5 with Transfer-Encoding: chunked and the body 0\\r\\n\\r\\n, complete whichever length is believed, so no second request can be smuggled (3)", []string{"BW241", "BW242", "BW243"}},
		{7, "headers by path", "GET of up to 3 same-site links of the page and of a missing page (at most 4)", []string{"BW244"}},
		{8, "csp nonce", "a second GET of the page, when its CSP has a nonce (1)", []string{"BW245"}},
		{9, "media file", "GET of each --media URL (one each)", []string{"BW246", "BW247"}},
		{10, "csrf post", "per --post path: a cross-site POST and a same-origin POST carrying the page's token and cookies (2 each)", []string{"BW221", "BW222", "BW227"}},
		{11, "tls", "handshakes only: TLS 1.0, 1.1 and 1.2 with every suite Go has, then each suite of an accepted version alone; TLS 1.3; TLS 1.3 offering only X25519MLKEM768", []string{"BW223", "BW224", "BW225", "BW228", "BW229", "BW230", "BW231", "BW232", "BW233", "BW250"}},
	}
}
