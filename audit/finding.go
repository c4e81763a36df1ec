package audit

import (
	"fmt"
	"slices"
	"strings"
)

// Severity ranks a finding.
type Severity int

// Severities, from the least to the most serious. Their order is
// meaningful: a filter "at least Warning" is s >= Warning.
const (
	// Info is worth knowing but needs no change (a weaker setting that is
	// a reasonable choice, a reminder).
	Info Severity = iota
	// Warning is a weakened protection that should be fixed unless the
	// site has a reason (Django's check --deploy warnings).
	Warning
	// Error is a protection that is broken or a configuration that will
	// not start.
	Error
)

var severityNames = [...]string{Info: "info", Warning: "warning", Error: "error"}

// String returns "info", "warning" or "error".
func (s Severity) String() string {
	if s >= Info && s <= Error {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText encodes s as its name, for JSON reports.
func (s Severity) MarshalText() ([]byte, error) {
	if s < Info || s > Error {
		return nil, fmt.Errorf("audit: invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a severity name ("info", "warning", "error").
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity parses "info", "warning" or "error", case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(name, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("audit: unknown severity %q (want info, warning or error)", name)
}

// Finding is one problem found by Check or Scan.
type Finding struct {
	// ID is the stable identifier of the rule that fired ("BW003"); see
	// Rules. IDs are never reused for a different rule.
	ID string `json:"id"`
	// Severity is the rule's severity, except where a rule documents
	// that it escalates (for example a weak key that is also empty).
	Severity Severity `json:"severity"`
	// Django is the counterpart check in Django's "check --deploy"
	// ("security.W004"), empty when Django has none, so that a site
	// migrating from Django can match its old warnings.
	Django string `json:"django,omitempty"`
	// Key is the configuration key the finding concerns
	// ("https.hsts_max_age"), or for Scan the probed URL or header.
	Key string `json:"key,omitempty"`
	// Message says what is wrong, with the values involved.
	Message string `json:"message"`
	// Fix says how to fix it, for the server family the scan saw (see
	// Family) or, for Check, in Bulwark's configuration keys.
	Fix string `json:"fix,omitempty"`
	// Baselined is set when a baseline file accepts the finding (see
	// Baseline): it is still reported, but Max and so --fail-on ignore it.
	Baselined bool `json:"baselined,omitempty"`

	fileErr bool // the finding is a file the configuration names failing to open
}

// String formats f as the text report does:
// "BW003 warning https.insecure_disable_hsts: message (fix)".
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.ID)
	b.WriteByte(' ')
	b.WriteString(f.Severity.String())
	if f.Key != "" {
		b.WriteByte(' ')
		b.WriteString(f.Key)
	}
	b.WriteString(": ")
	b.WriteString(f.Message)
	if f.Fix != "" {
		b.WriteString(" (")
		b.WriteString(f.Fix)
		b.WriteByte(')')
	}
	if f.Django != "" {
		b.WriteString(" [django: ")
		b.WriteString(f.Django)
		b.WriteByte(']')
	}
	return b.String()
}

// Max returns the highest severity among findings that no baseline
// accepted, and false when there are none.
func Max(findings []Finding) (Severity, bool) {
	m, any := Info, false
	for _, f := range findings {
		if !f.Baselined {
			m, any = max(m, f.Severity), true
		}
	}
	return m, any
}

// Sort orders findings the most severe first, keeping their order within
// a severity (the order of the probes or sections that found them).
func Sort(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int { return int(b.Severity) - int(a.Severity) })
}

// Scope says where a rule runs.
type Scope string

// Scopes.
const (
	// ScopeConfig rules run in Check, on the library configuration.
	ScopeConfig Scope = "config"
	// ScopeServer rules run in Check on a Deployment with a Server: the
	// gateway's listeners, certificates, upstream and timeouts.
	ScopeServer Scope = "server"
	// ScopeScan rules run in Scan, against a live site.
	ScopeScan Scope = "scan"
)

// Rule is one entry of the catalogue: what a finding with its ID means.
type Rule struct {
	// ID is the stable identifier findings carry ("BW205").
	ID string `json:"id"`
	// Severity is the severity of the rule's findings.
	Severity Severity `json:"severity"`
	// Scope says where the rule runs: Check on a Config, Check on a
	// server, or Scan.
	Scope Scope `json:"scope"`
	// Django is the counterpart Django check, if any.
	Django string `json:"django,omitempty"`
	// Key is the configuration key (or, for scans, the header or probe)
	// the rule looks at.
	Key string `json:"key,omitempty"`
	// Title is a one-line description of the condition that fires it.
	Title string `json:"title"`
	// Fix is the default advice. For scan rules it names no product's
	// settings: Fixes holds those.
	Fix string `json:"fix"`
	// Fixes are the fix texts for particular server families (scan
	// rules); a scan uses the one for the family it saw, else Fix.
	Fixes Fixes `json:"fixes"`
}

// Rules returns the catalogue of every rule, in ID order. The slice is a
// copy.
func Rules() []Rule {
	out := slices.Clone(catalogue)
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Lookup returns the rule with the given ID.
func Lookup(id string) (Rule, bool) {
	for _, r := range catalogue {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// find builds a finding of rule id with message msg; it panics on an
// unknown id, which the catalogue test rules out for every id used.
func find(id, msg string) Finding {
	r, ok := Lookup(id)
	if !ok {
		panic("audit: unknown rule " + id)
	}
	return Finding{ID: r.ID, Severity: r.Severity, Django: r.Django, Key: r.Key, Message: msg, Fix: r.Fix}
}

// findf is find with a formatted message.
func findf(id, format string, args ...any) Finding {
	return find(id, fmt.Sprintf(format, args...))
}
