package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
)

// Baseline is a set of accepted findings, so that a CI gate fails only on
// new ones. A finding is accepted when an entry names its rule ID and its
// target (the scanned URL or the checked configuration file) and, when
// the entry has one, its key.
type Baseline struct {
	entries []BaselineEntry
}

// BaselineEntry accepts the findings of one rule on one target.
type BaselineEntry struct {
	// ID is the rule ("BW207"). Required.
	ID string `json:"id"`
	// Target is the scanned URL or the configuration file, as the
	// report names it; "*" accepts the rule on any target.
	Target string `json:"target"`
	// Key, when set, limits the entry to findings about that key
	// ("Set-Cookie: theme"); empty accepts every key.
	Key string `json:"key,omitempty"`
	// Reason says why the finding is accepted, for the people who read
	// the file; it is not interpreted.
	Reason string `json:"reason,omitempty"`
}

var baselineID = regexp.MustCompile(`^BW[0-9]{3}$`)

// ParseBaseline reads a baseline file. Two forms are accepted:
//
//   - a baseline: {"version": 1, "accept": [{"id": "BW207", "target":
//     "https://example.com/", "key": "...", "reason": "..."}]};
//   - a JSON report of bulwark scan or check (docs/scan-json.md): every
//     finding in it is accepted on its target, so that the report of
//     today's scan is tomorrow's baseline.
//
// Unknown fields are errors, so that a misspelt "targt" cannot silently
// accept a rule everywhere; so are entries without an ID or a target.
func ParseBaseline(data []byte) (*Baseline, error) {
	var probe struct {
		Version int    `json:"version"`
		Kind    string `json:"kind"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("audit: baseline: %w", err)
	}
	if probe.Version != JSONVersion {
		return nil, fmt.Errorf("audit: baseline: version %d, want %d", probe.Version, JSONVersion)
	}
	var b Baseline
	switch probe.Kind {
	case "scan", "check":
		var rep struct {
			URL      string `json:"url"`
			Config   string `json:"config"`
			Findings []struct {
				ID  string `json:"id"`
				Key string `json:"key"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(data, &rep); err != nil {
			return nil, fmt.Errorf("audit: baseline: %w", err)
		}
		target := rep.URL
		if probe.Kind == "check" {
			target = rep.Config
		}
		for _, f := range rep.Findings {
			b.entries = append(b.entries, BaselineEntry{ID: f.ID, Target: target, Key: f.Key})
		}
	case "":
		var file struct {
			Version int             `json:"version"`
			Accept  []BaselineEntry `json:"accept"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return nil, fmt.Errorf("audit: baseline: %w", err)
		}
		b.entries = file.Accept
	default:
		return nil, fmt.Errorf("audit: baseline: unknown kind %q", probe.Kind)
	}
	for i, e := range b.entries {
		if !baselineID.MatchString(e.ID) || e.Target == "" {
			return nil, fmt.Errorf("audit: baseline: entry %d: want an id (BWnnn) and a target, got %q and %q", i, e.ID, e.Target)
		}
	}
	return &b, nil
}

// Entries returns a copy of the baseline's entries.
func (b *Baseline) Entries() []BaselineEntry {
	return append([]BaselineEntry{}, b.entries...)
}

// Apply marks the findings on target that the baseline accepts (sets
// Baselined) and returns how many it marked. A nil Baseline accepts
// nothing.
func (b *Baseline) Apply(target string, fs []Finding) int {
	if b == nil {
		return 0
	}
	n := 0
	for i := range fs {
		for _, e := range b.entries {
			if e.ID == fs[i].ID && (e.Target == "*" || e.Target == target) && (e.Key == "" || e.Key == fs[i].Key) {
				fs[i].Baselined = true
				n++
				break
			}
		}
	}
	return n
}
