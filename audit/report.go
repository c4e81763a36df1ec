package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// JSONVersion is the version of the JSON report format (docs/scan-json.md).
// It changes only when a field is removed or changes meaning; new fields
// may appear within a version.
const JSONVersion = 1

// Summary counts a report's findings by severity (baselined findings
// apart) and the probes by kind.
type Summary struct {
	Error      int `json:"error"`
	Warning    int `json:"warning"`
	Info       int `json:"info"`
	Baselined  int `json:"baselined"`
	Requests   int `json:"requests"`
	Handshakes int `json:"handshakes"`
}

func summarize(findings []Finding, probes []Probe) Summary {
	var s Summary
	for _, f := range findings {
		switch {
		case f.Baselined:
			s.Baselined++
		case f.Severity == Error:
			s.Error++
		case f.Severity == Warning:
			s.Warning++
		default:
			s.Info++
		}
	}
	for _, p := range probes {
		if p.Kind == "tls" {
			s.Handshakes++
		} else {
			s.Requests++
		}
	}
	return s
}

// Summary counts the report's findings and probes.
func (r Report) Summary() Summary { return summarize(r.Findings, r.Probes) }

// scanJSON is the JSON form of a Report, version JSONVersion.
type scanJSON struct {
	Version    int       `json:"version"`
	Kind       string    `json:"kind"`
	Tool       string    `json:"tool"`
	URL        string    `json:"url"`
	Start      string    `json:"start"`
	Duration   float64   `json:"duration_seconds"`
	TLSVersion string    `json:"tls_version"`
	Families   []Family  `json:"server_families"`
	Summary    Summary   `json:"summary"`
	Findings   []Finding `json:"findings"`
	Probes     []Probe   `json:"probes"`
}

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// MarshalJSON encodes the report in the documented format
// (docs/scan-json.md): a version, durations in seconds, times in RFC 3339
// UTC, findings the most severe first, and empty lists as [].
func (r Report) MarshalJSON() ([]byte, error) {
	fs := nonNil(r.Findings)
	Sort(fs)
	ps := r.Probes
	if ps == nil {
		ps = []Probe{}
	}
	fam := r.Families
	if fam == nil {
		fam = []Family{}
	}
	return marshal(scanJSON{
		Version: JSONVersion, Kind: "scan", Tool: r.Tool, URL: r.URL,
		Start: r.Start.UTC().Format(time.RFC3339Nano), Duration: seconds(r.Duration),
		TLSVersion: r.TLSVersion, Families: fam, Summary: summarize(fs, ps),
		Findings: fs, Probes: ps,
	})
}

// nonNil returns a copy of fs that is never nil.
func nonNil(fs []Finding) []Finding {
	return append([]Finding{}, fs...)
}

// marshal encodes v without escaping <, > and & (messages quote header
// values such as "<script>", which must stay readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// writeIndented writes v as indented JSON followed by a newline.
func writeIndented(w io.Writer, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// WriteJSON writes the report as indented JSON in the documented format
// (docs/scan-json.md).
func (r Report) WriteJSON(w io.Writer) error { return writeIndented(w, r) }

// WriteText writes the report as text: one finding a line, the most
// severe first ("BW205 error Strict-Transport-Security: message (fix)"),
// then a summary.
func (r Report) WriteText(w io.Writer) error {
	fs := nonNil(r.Findings)
	Sort(fs)
	if err := writeFindings(w, fs); err != nil {
		return err
	}
	tlsv := r.TLSVersion
	if tlsv == "" {
		tlsv = "no TLS"
	}
	s := summarize(fs, r.Probes)
	by := ""
	if len(r.Families) > 0 {
		fam := make([]string, len(r.Families))
		for i, f := range r.Families {
			fam[i] = string(f)
		}
		by = ", fixes for " + strings.Join(fam, " + ")
	}
	if r.Tool != "" {
		by += ", " + r.Tool
	}
	_, err := fmt.Fprintf(w, "%s (%s, %d requests, %d TLS handshakes, %.3fs%s): %s\n",
		r.URL, tlsv, s.Requests, s.Handshakes, seconds(r.Duration), by, s.counts())
	return err
}

func writeFindings(w io.Writer, fs []Finding) error {
	for _, f := range fs {
		line := f.String()
		if f.Baselined {
			line += " (baselined)"
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func (s Summary) counts() string {
	c := fmt.Sprintf("%d error(s), %d warning(s), %d info", s.Error, s.Warning, s.Info)
	if s.Baselined > 0 {
		c += fmt.Sprintf(", %d baselined", s.Baselined)
	}
	return c
}

// CheckReport is the result of a configuration check, for the same
// output formats as a scan.
type CheckReport struct {
	// Tool names the program and version ("bulwark v1.2.0").
	Tool string
	// Config is the configuration file checked.
	Config string
	// Findings are Check's findings.
	Findings []Finding
}

type checkJSON struct {
	Version  int       `json:"version"`
	Kind     string    `json:"kind"`
	Tool     string    `json:"tool"`
	Config   string    `json:"config"`
	Summary  Summary   `json:"summary"`
	Findings []Finding `json:"findings"`
}

// MarshalJSON encodes the report in the documented format
// (docs/scan-json.md, "kind": "check").
func (r CheckReport) MarshalJSON() ([]byte, error) {
	fs := nonNil(r.Findings)
	Sort(fs)
	return marshal(checkJSON{Version: JSONVersion, Kind: "check", Tool: r.Tool, Config: r.Config, Summary: summarize(fs, nil), Findings: fs})
}

// WriteJSON writes the report as indented JSON.
func (r CheckReport) WriteJSON(w io.Writer) error { return writeIndented(w, r) }

// WriteText writes one finding a line, the most severe first, then a
// summary.
func (r CheckReport) WriteText(w io.Writer) error {
	fs := nonNil(r.Findings)
	Sort(fs)
	if err := writeFindings(w, fs); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%s: %s\n", r.Config, summarize(fs, nil).counts())
	return err
}

// severityGroup is the findings of one severity, for the HTML report.
type severityGroup struct {
	Severity Severity
	Findings []Finding
}

func groups(fs []Finding) []severityGroup {
	var gs []severityGroup
	for _, sev := range []Severity{Error, Warning, Info} {
		g := severityGroup{Severity: sev}
		for _, f := range fs {
			if f.Severity == sev && !f.Baselined {
				g.Findings = append(g.Findings, f)
			}
		}
		gs = append(gs, g)
	}
	return gs
}

// WriteHTML writes the report as a self-contained HTML page: the summary,
// the findings grouped by severity (the most severe first), baselined
// findings apart, and every request and handshake sent. Every value from
// the site (URLs, header values in messages) is escaped by html/template:
// a scanned site cannot inject markup into the report.
func (r Report) WriteHTML(w io.Writer) error {
	fs := nonNil(r.Findings)
	Sort(fs)
	var base []Finding
	for _, f := range fs {
		if f.Baselined {
			base = append(base, f)
		}
	}
	return htmlReport.Execute(w, struct {
		Report
		Summary   Summary
		Groups    []severityGroup
		Baselined []Finding
		Seconds   float64
	}{r, summarize(fs, r.Probes), groups(fs), base, seconds(r.Duration)})
}

var htmlReport = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bulwark scan: {{.URL}}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { margin-bottom: .2em; } .meta { color: #555; margin-top: 0; }
.cards { display: flex; gap: 1em; margin: 1.2em 0; }
.card { flex: 1; border-radius: 6px; padding: .7em 1em; border: 1px solid #ddd; }
.card b { display: block; font-size: 2em; line-height: 1.1; }
.card.error { background: #fde8e8; border-color: #e8a0a0; color: #8a0000; }
.card.warning { background: #fff4dc; border-color: #e8c880; color: #7a4a00; }
.card.info { background: #eef3f8; border-color: #b8c8d8; color: #334; }
.card.baselined { background: #f4f4f4; color: #555; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1.5em; }
th, td { text-align: left; vertical-align: top; padding: .35em .6em; border-bottom: 1px solid #ddd; }
th { background: #fafafa; }
h2.error { color: #a40000; } h2.warning { color: #9a5b00; } h2.info { color: #445; }
td.id { white-space: nowrap; font-family: ui-monospace, monospace; }
code { font-size: 90%; overflow-wrap: break-word; }
td.key code { white-space: nowrap; }
.fix { color: #245; }
</style>
</head>
<body>
<h1>Bulwark scan</h1>
<p class="meta"><code>{{.URL}}</code> — {{if .TLSVersion}}{{.TLSVersion}}{{else}}no TLS{{end}},
{{.Summary.Requests}} requests and {{.Summary.Handshakes}} TLS handshakes in {{printf "%.3f" .Seconds}}s,
started {{.Start.UTC.Format "2006-01-02 15:04:05 MST"}}{{if .Families}}, fixes for {{range $i, $f := .Families}}{{if $i}} + {{end}}{{$f}}{{end}}{{end}}{{if .Tool}}; {{.Tool}}{{end}}.</p>
<div class="cards">
<div class="card error"><b>{{.Summary.Error}}</b>errors</div>
<div class="card warning"><b>{{.Summary.Warning}}</b>warnings</div>
<div class="card info"><b>{{.Summary.Info}}</b>info</div>
{{if .Summary.Baselined}}<div class="card baselined"><b>{{.Summary.Baselined}}</b>baselined</div>{{end}}
</div>
{{range .Groups}}{{if .Findings}}<h2 class="{{.Severity}}">{{.Severity}} ({{len .Findings}})</h2>
<table>
<tr><th>ID</th><th>concerns</th><th>finding</th><th>fix</th></tr>
{{range .Findings}}<tr><td class="id">{{.ID}}</td><td class="key"><code>{{.Key}}</code></td><td>{{.Message}}{{if .Django}} <small>[django: {{.Django}}]</small>{{end}}</td><td class="fix">{{.Fix}}</td></tr>
{{end}}</table>
{{end}}{{end}}{{if not (or .Summary.Error .Summary.Warning .Summary.Info)}}<p>No findings.</p>{{end}}
{{if .Baselined}}<h2>Accepted by the baseline ({{len .Baselined}})</h2>
<table>
<tr><th>ID</th><th>severity</th><th>concerns</th><th>finding</th></tr>
{{range .Baselined}}<tr><td class="id">{{.ID}}</td><td>{{.Severity}}</td><td><code>{{.Key}}</code></td><td>{{.Message}}</td></tr>
{{end}}</table>
{{end}}<h2>Requests and handshakes sent</h2>
<table>
<tr><th>probe</th><th>request</th><th>status</th><th>location, TLS or error</th></tr>
{{range .Probes}}<tr><td>{{.Name}}</td><td><code>{{.Method}} {{.URL}}</code></td><td>{{if .Status}}{{.Status}}{{end}}</td><td><code>{{.Location}}{{.TLS}}{{if .Error}} {{.Error}}{{end}}</code></td></tr>
{{end}}</table>
</body>
</html>
`))
