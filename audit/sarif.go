package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"time"
)

// SARIF 2.1.0 (OASIS), the subset code-scanning dashboards read: one run,
// the tool's rules, one result per finding with a location and a stable
// fingerprint, baselined findings as external suppressions.

const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	infoURI      = "https://github.com/bulwarkdev/bulwark"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations"`
	Results     []sarifResult     `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string            `json:"id"`
	ShortDescription     sarifText         `json:"shortDescription"`
	Help                 sarifText         `json:"help"`
	DefaultConfiguration sarifRuleConfig   `json:"defaultConfiguration"`
	Properties           map[string]string `json:"properties,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	StartTimeUTC        string `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	PartialFingerprints map[string]string  `json:"partialFingerprints"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical  `json:"physicalLocation"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifLogical struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Justification string `json:"justification"`
}

// sarifLevel maps a severity to SARIF's levels.
func sarifLevel(s Severity) string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	}
	return "note"
}

// Fingerprint identifies a finding across runs: its rule, the target
// (the scanned URL or the configuration file) and the key it concerns,
// not its message (which may quote values that change). Baselines and
// SARIF's partialFingerprints use it.
func Fingerprint(target string, f Finding) string {
	h := sha256.Sum256([]byte(f.ID + "\x00" + target + "\x00" + f.Key))
	return hex.EncodeToString(h[:16])
}

func writeSARIF(w io.Writer, tool, target string, fs []Finding, start, end time.Time) error {
	name, version, _ := strings.Cut(tool, " ")
	if name == "" {
		name = "bulwark"
	}
	fs = nonNil(fs)
	Sort(fs)
	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: name, Version: version, InformationURI: infoURI, Rules: []sarifRule{}}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     []sarifResult{},
	}
	if !start.IsZero() {
		run.Invocations[0].StartTimeUTC = start.UTC().Format(time.RFC3339Nano)
		run.Invocations[0].EndTimeUTC = end.UTC().Format(time.RFC3339Nano)
	}
	index := map[string]int{}
	for _, f := range fs {
		i, ok := index[f.ID]
		if !ok {
			r, _ := Lookup(f.ID)
			i = len(run.Tool.Driver.Rules)
			index[f.ID] = i
			sr := sarifRule{
				ID:                   f.ID,
				ShortDescription:     sarifText{r.Title},
				Help:                 sarifText{r.Fix},
				DefaultConfiguration: sarifRuleConfig{sarifLevel(r.Severity)},
			}
			if r.Django != "" {
				sr.Properties = map[string]string{"django": r.Django}
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sr)
		}
		msg := f.Message
		if f.Fix != "" {
			msg += " Fix: " + f.Fix
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message:             sarifText{msg},
			Locations:           []sarifLocation{{PhysicalLocation: sarifPhysical{sarifArtifact{target}}}},
			PartialFingerprints: map[string]string{"bulwarkFinding/v1": Fingerprint(target, f)},
		}
		if f.Key != "" {
			res.Locations[0].LogicalLocations = []sarifLogical{{Name: f.Key, Kind: "member"}}
		}
		if f.Baselined {
			res.Suppressions = []sarifSuppression{{Kind: "external", Justification: "accepted by the baseline file"}}
		}
		run.Results = append(run.Results, res)
	}
	return writeIndented(w, sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// WriteSARIF writes the report as a SARIF 2.1.0 log, for code-scanning
// dashboards: one result per finding, located at the scanned URL (and the
// header or probe as a logical location), with a stable fingerprint.
func (r Report) WriteSARIF(w io.Writer) error {
	return writeSARIF(w, r.Tool, r.URL, r.Findings, r.Start, r.Start.Add(r.Duration))
}

// WriteSARIF writes the report as a SARIF 2.1.0 log, located at the
// configuration file (and the key as a logical location).
func (r CheckReport) WriteSARIF(w io.Writer) error {
	return writeSARIF(w, r.Tool, r.Config, r.Findings, time.Time{}, time.Time{})
}
