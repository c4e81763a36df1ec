package headers_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/internal/vectors"
)

// directive converts one Django directive value into a Directive, as
// Django's build_policy reads it: None/False omit it, True is the bare
// name, a string is one value, a list is the values (empty: omitted), and
// {"set": [...]} is sorted.
func directive(name string, raw json.RawMessage) (headers.Directive, bool, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return headers.Directive{}, false, err
	}
	switch v := v.(type) {
	case nil:
		return headers.Directive{}, false, nil
	case bool:
		return headers.Directive{Name: name}, v, nil
	case string:
		return headers.Directive{Name: name, Values: []string{v}}, true, nil
	case []any:
		vals, err := strs(v)
		return headers.Directive{Name: name, Values: vals}, len(vals) > 0, err
	case map[string]any:
		set, ok := v["set"].([]any)
		if !ok {
			return headers.Directive{}, false, fmt.Errorf("directive %s: unknown value %v", name, v)
		}
		vals, err := strs(set)
		sort.Strings(vals) // Python's str ordering is code-point order
		return headers.Directive{Name: name, Values: vals}, len(vals) > 0, err
	}
	return headers.Directive{}, false, fmt.Errorf("directive %s: unknown value %T", name, v)
}

func strs(v []any) ([]string, error) {
	out := make([]string, 0, len(v))
	for _, x := range v {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("value %v is not a string", x)
		}
		out = append(out, s)
	}
	return out, nil
}

// policyFromObject converts a Django CSP mapping (null: no policy).
func policyFromObject(raw json.RawMessage) (headers.Policy, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var o vectors.Object
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	p := headers.Policy{}
	for _, k := range o.Keys {
		d, keep, err := directive(k, o.Values[k])
		if err != nil {
			return nil, err
		}
		if keep {
			p = append(p, d)
		}
	}
	return p, nil
}

type cspFile struct {
	Sections []struct {
		Name    string            `json:"name"`
		Vectors []json.RawMessage `json:"vectors"`
	} `json:"sections"`
}

type buildVector struct {
	Test     string              `json:"test"`
	Config   [][]json.RawMessage `json:"config"`
	Nonce    *string             `json:"nonce"`
	Expected string              `json:"expected"`
}

type middlewareVector struct {
	Test     string                     `json:"test"`
	Settings map[string]json.RawMessage `json:"settings"`
	View     json.RawMessage            `json:"view"`
	RawExp   json.RawMessage            `json:"expected"`
	Expected struct {
		Headers         map[string]string `json:"headers"`
		Absent          []string          `json:"absent"`
		HeadersPattern  map[string]string `json:"headers_pattern"`
		NonceEqualsBody bool              `json:"nonce_equals_body"`
	} `json:"-"`
}

// TestDjangoCSP replays csp.json: build_policy vectors through
// Policy.Build, middleware vectors through the Headers handler.
func TestDjangoCSP(t *testing.T) {
	const file = "csp.json"
	var f cspFile
	vectors.Load(t, file, &f)
	dev := vectors.Deviations(t, file)
	n := 0
	for _, sec := range f.Sections {
		for _, raw := range sec.Vectors {
			id := vectorID(sec.Name, raw)
			n++
			switch sec.Name {
			case "build_policy":
				var v buildVector
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				vectors.Check(t, file, id, dev, func() error { return checkBuild(v) })
			case "middleware":
				var v middlewareVector
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				vectors.Check(t, file, id, dev, func() error { return checkMiddleware(v) })
			default:
				t.Errorf("%s: unknown section %q", file, sec.Name)
			}
		}
	}
	vectors.Count(t, file, n)
}

func checkBuild(v buildVector) error {
	var p headers.Policy
	for _, pair := range v.Config {
		if len(pair) != 2 {
			return fmt.Errorf("%s: malformed config entry", v.Test)
		}
		var name string
		if err := json.Unmarshal(pair[0], &name); err != nil {
			return err
		}
		d, keep, err := directive(name, pair[1])
		if err != nil {
			return err
		}
		if keep {
			p = append(p, d)
		}
	}
	nonce := ""
	if v.Nonce != nil {
		nonce = *v.Nonce
	}
	if got := p.Build(nonce); got != v.Expected {
		return fmt.Errorf("%s: Build = %q, want %q", v.Test, got, v.Expected)
	}
	return nil
}

func checkMiddleware(v middlewareVector) error {
	dec := json.NewDecoder(bytes.NewReader(v.RawExp))
	dec.DisallowUnknownFields() // an expectation this test does not check must fail
	if err := dec.Decode(&v.Expected); err != nil {
		return fmt.Errorf("%s: expected: %v", v.Test, err)
	}
	for k := range v.Settings {
		switch k {
		case "SECURE_CSP", "SECURE_CSP_REPORT_ONLY":
		case "DEBUG":
			// Only Django's debug views depend on it; the view says which
			// one runs.
		default:
			return fmt.Errorf("%s: setting %s is not mapped", v.Test, k)
		}
	}
	var cfg headers.Config
	var err error
	if cfg.CSP, err = policyFromObject(v.Settings["SECURE_CSP"]); err != nil {
		return err
	}
	if cfg.CSPReportOnly, err = policyFromObject(v.Settings["SECURE_CSP_REPORT_ONLY"]); err != nil {
		return err
	}
	hs, err := headers.New(cfg)
	if err != nil {
		return fmt.Errorf("%s: New: %v", v.Test, err)
	}
	view, err := cspView(v.View)
	if err != nil {
		return fmt.Errorf("%s: %v", v.Test, err)
	}
	rec := httptest.NewRecorder()
	hs.Handler(view).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	var errs []string
	for k, want := range v.Expected.Headers {
		if got := strings.Join(res.Header.Values(k), ", "); got != want {
			errs = append(errs, fmt.Sprintf("%s = %q, want %q", k, got, want))
		}
	}
	for _, k := range v.Expected.Absent {
		if got := res.Header.Values(k); len(got) > 0 {
			errs = append(errs, fmt.Sprintf("%s = %q, want absent", k, got))
		}
	}
	for k, pat := range v.Expected.HeadersPattern {
		got := res.Header.Get(k)
		groups, err := matchPython(pat, got)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s = %q: %v", k, got, err))
			continue
		}
		if v.Expected.NonceEqualsBody && groups["nonce"] != string(body) {
			errs = append(errs, fmt.Sprintf("%s nonce %q, body %q", k, groups["nonce"], body))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %s", v.Test, strings.Join(errs, "; "))
	}
	return nil
}

// cspView builds the vector's view: "plain" never touches the nonce,
// "uses_nonce" reads it and returns it as the body, "debug_technical_view"
// is Django's technical 404/500 page (decorated with empty overrides for
// both headers), and an object applies csp_override /
// csp_report_only_override or presets response headers.
func cspView(raw json.RawMessage) (http.HandlerFunc, error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		switch name {
		case "plain":
			return func(http.ResponseWriter, *http.Request) {}, nil
		case "uses_nonce":
			return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, headers.Nonce(r)) }, nil
		case "debug_technical_view":
			return func(w http.ResponseWriter, r *http.Request) {
				headers.OverrideCSP(w, headers.Policy{})
				headers.OverrideCSPReportOnly(w, headers.Policy{})
			}, nil
		}
		return nil, fmt.Errorf("unknown view %q", name)
	}
	var spec struct {
		CSP             *json.RawMessage  `json:"csp_override"`
		CSPReportOnly   *json.RawMessage  `json:"csp_report_only_override"`
		ResponseHeaders map[string]string `json:"response_headers"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields() // a view this test does not know must fail
	if err := dec.Decode(&spec); err != nil {
		return nil, err
	}
	var overrides []func(http.ResponseWriter) error
	for _, o := range []struct {
		raw *json.RawMessage
		fn  func(http.ResponseWriter, headers.Policy) error
	}{{spec.CSP, headers.OverrideCSP}, {spec.CSPReportOnly, headers.OverrideCSPReportOnly}} {
		if o.raw == nil {
			continue
		}
		p, err := policyFromObject(*o.raw)
		if err != nil {
			return nil, err
		}
		if p == nil {
			p = headers.Policy{}
		}
		fn := o.fn
		overrides = append(overrides, func(w http.ResponseWriter) error { return fn(w, p) })
	}
	return func(w http.ResponseWriter, r *http.Request) {
		for _, o := range overrides {
			if err := o(w); err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
		}
		for k, v := range spec.ResponseHeaders {
			w.Header().Set(k, v)
		}
	}, nil
}

// vectorID names a vector by its section, the last part of its Django test
// name and a digest of its content, so ids stay the same when vectors are
// added or kept back (deviations.json refers to them).
func vectorID(section string, raw json.RawMessage) string {
	var v struct {
		Test string `json:"test"`
	}
	json.Unmarshal(raw, &v)
	name := v.Test
	if i := strings.LastIndex(name, "."); i >= 0 && strings.Contains(name, "::") {
		name = name[i+1:]
	} else {
		name = "derived"
	}
	var compact bytes.Buffer
	json.Compact(&compact, raw)
	sum := sha256.Sum256(compact.Bytes())
	return fmt.Sprintf("%s/%s_%x", section, name, sum[:4])
}

// matchPython matches s against a Python regular expression using named
// groups and back-references (?P=name), which RE2 lacks: each
// back-reference becomes a group of its own whose text must equal the
// named group's.
func matchPython(pat, s string) (map[string]string, error) {
	refs := map[string]string{}
	backref := regexp.MustCompile(`\(\?P=(\w+)\)`)
	i := 0
	goPat := backref.ReplaceAllStringFunc(pat, func(m string) string {
		name := backref.FindStringSubmatch(m)[1]
		i++
		g := fmt.Sprintf("backref%d", i)
		refs[g] = name
		return "(?P<" + g + ">.*?)"
	})
	re, err := regexp.Compile(goPat)
	if err != nil {
		return nil, err
	}
	m := re.FindStringSubmatch(s)
	if m == nil {
		return nil, fmt.Errorf("does not match %s", pat)
	}
	groups := map[string]string{}
	for j, name := range re.SubexpNames() {
		if name != "" {
			groups[name] = m[j]
		}
	}
	for g, name := range refs {
		if groups[g] != groups[name] {
			return nil, fmt.Errorf("(?P=%s) is %q, not %q", name, groups[g], groups[name])
		}
	}
	return groups, nil
}
