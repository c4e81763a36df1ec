package audit

import "net/url"

// Hooks for the black-box tests.

// ParseHSTS is parseHSTS.
func ParseHSTS(v string) (maxAge int64, includeSubDomains, preload bool, err error) {
	h, err := parseHSTS(v)
	return h.maxAge, h.includeSubDomains, h.preload, err
}

// ScriptWeakness is cspScriptSources + cspWeakness on a serialized policy.
func ScriptWeakness(policy string) (inline, weak string, ok bool) {
	srcs, ok := cspScriptSources(policy)
	if !ok {
		return "", "", false
	}
	inline, weak = cspWeakness(srcs)
	return inline, weak, true
}

// FramingRestricted is framingRestricted.
func FramingRestricted(policies ...string) bool { return framingRestricted(policies) }

// SamplePaths is samplePaths on a page of base.
func SamplePaths(base, page string, n int) []string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	return samplePaths(u, []byte(page), n)
}
