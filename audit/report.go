package audit

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
)

// WriteText writes the report as text: one finding a line
// ("BW205 error Strict-Transport-Security: message (fix)"), then a
// summary.
func (r Report) WriteText(w io.Writer) error {
	n := map[Severity]int{}
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
		n[f.Severity]++
	}
	tlsv := r.TLSVersion
	if tlsv == "" {
		tlsv = "no TLS"
	}
	_, err := fmt.Fprintf(w, "%s (%s, %d requests, %v): %d error(s), %d warning(s), %d info\n",
		r.URL, tlsv, len(r.Probes), r.Duration, n[Error], n[Warning], n[Info])
	return err
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteHTML writes the report as a self-contained HTML page. Every value
// from the site (URLs, header values in messages) is escaped by
// html/template: a scanned site cannot inject markup into the report.
func (r Report) WriteHTML(w io.Writer) error {
	n := map[string]int{}
	for _, f := range r.Findings {
		n[f.Severity.String()]++
	}
	return htmlReport.Execute(w, struct {
		Report
		Counts map[string]int
	}{r, n})
}

var htmlReport = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark scan: {{.URL}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 70em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1em 0 2em; }
th, td { text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #ddd; }
.error { color: #a40000; font-weight: bold; } .warning { color: #9a5b00; font-weight: bold; } .info { color: #555; }
code { font-size: 90%; }
</style>
</head>
<body>
<h1>Bulwark scan</h1>
<p><code>{{.URL}}</code> — {{if .TLSVersion}}{{.TLSVersion}}{{else}}no TLS{{end}}, {{len .Probes}} requests,
started {{.Start.UTC.Format "2006-01-02 15:04:05 MST"}}, {{.Duration}}.</p>
<p><span class="error">{{index .Counts "error"}} error(s)</span>, <span class="warning">{{index .Counts "warning"}} warning(s)</span>, <span class="info">{{index .Counts "info"}} info</span>.</p>
<h2>Findings</h2>
{{if .Findings}}<table>
<tr><th>ID</th><th>severity</th><th>concerns</th><th>finding</th><th>fix</th></tr>
{{range .Findings}}<tr><td>{{.ID}}</td><td class="{{.Severity}}">{{.Severity}}</td><td><code>{{.Key}}</code></td><td>{{.Message}}</td><td>{{.Fix}}</td></tr>
{{end}}</table>{{else}}<p>No findings.</p>{{end}}
<h2>Requests sent</h2>
<table>
<tr><th>probe</th><th>request</th><th>status</th><th>location or error</th></tr>
{{range .Probes}}<tr><td>{{.Name}}</td><td><code>{{.Method}} {{.URL}}</code></td><td>{{if .Status}}{{.Status}}{{end}}</td><td><code>{{.Location}}{{.Error}}</code></td></tr>
{{end}}</table>
</body>
</html>
`))
