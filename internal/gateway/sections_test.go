package gateway_test

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// tomlKey is one key of a configuration type: its dotted path, the type
// it decodes into, and, per element of the path, whether that element is
// an array of tables.
type tomlKey struct {
	path   []string
	typ    reflect.Type
	arrays []bool
}

func (k tomlKey) String() string { return strings.Join(k.path, ".") }

// walkKeys lists every key of t by its toml tags, tables and the keys in
// them (nested tables included), as the TOML decoder sees them: untagged
// embedded structs add their keys to the embedding table, "-" is skipped.
func walkKeys(t reflect.Type) []tomlKey {
	var out []tomlKey
	var walk func(t reflect.Type, prefix []string, arrays []bool)
	walk = func(t reflect.Type, prefix []string, arrays []bool) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "-" {
				continue
			}
			if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, prefix, arrays)
				continue
			}
			if name == "" {
				name = f.Name
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			array := ft.Kind() == reflect.Slice && isStruct(ft.Elem())
			k := tomlKey{path: append(slices.Clone(prefix), name), typ: f.Type, arrays: append(slices.Clone(arrays), array)}
			out = append(out, k)
			if array {
				walk(ft.Elem(), k.path, k.arrays)
			} else if isStruct(ft) {
				walk(ft, k.path, k.arrays)
			}
		}
	}
	walk(t, nil, nil)
	return out
}

// isStruct reports whether t is written as a table of keys (not as text).
func isStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// isTable reports whether a value of type t is written as a table or an
// array of tables.
func isTable(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return isStruct(t) || t.Kind() == reflect.Map
}

// sample is a TOML value of type t (the decoder may still refuse it: a
// text type may not parse "x").
func sample(t reflect.Type) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "1s"
	case reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()):
		return "x"
	}
	switch t.Kind() {
	case reflect.String:
		return "x"
	case reflect.Bool:
		return true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 1
	case reflect.Float32, reflect.Float64:
		return 1.5
	case reflect.Slice, reflect.Array:
		if isStruct(t.Elem()) {
			return []map[string]any{{}}
		}
		return []any{sample(t.Elem())}
	}
	return map[string]any{} // a table: a struct or a map
}

// docWith returns a valid gateway configuration with key k set to a value
// of its type.
func docWith(t *testing.T, k tomlKey) []byte {
	t.Helper()
	doc := map[string]any{
		"upstream": map[string]any{"url": "http://127.0.0.1:8000"},
		"tls":      map[string]any{"cert_file": "c.pem", "key_file": "k.pem"},
	}
	m := doc
	for i, name := range k.path[:len(k.path)-1] {
		next := map[string]any{}
		if k.arrays[i] {
			m[name] = []map[string]any{next}
		} else if old, ok := m[name].(map[string]any); ok {
			next = old
		} else {
			m[name] = next
		}
		m = next
	}
	m[k.path[len(k.path)-1]] = sample(k.typ)
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(doc); err != nil {
		t.Fatalf("%s: %v", k, err)
	}
	return b.Bytes()
}

// TestLibraryKeysAcceptedOrRefused walks every key of bulwark.Config,
// nested tables included, by reflection over the real types: in a gateway
// configuration each is either accepted (a section the gateway shares
// with the library) or refused as an unknown key, with its line, and a
// hint naming it as a library setting the gateway does not use. A key
// added to a library section is walked here without an edit.
func TestLibraryKeysAcceptedOrRefused(t *testing.T) {
	gw := map[string]bool{}
	for _, k := range walkKeys(reflect.TypeFor[gateway.Config]()) {
		gw[k.String()] = true
	}
	var accepted, refused []string
	for _, k := range walkKeys(reflect.TypeFor[bulwark.Config]()) {
		doc := docWith(t, k)
		_, err := gateway.Parse(doc)
		if gw[k.String()] {
			accepted = append(accepted, k.String())
			if errors.Is(err, bulwark.ErrUnknownKey) {
				t.Errorf("%s: shared with the library, but refused: %v\n%s", k, err, doc)
			}
			continue
		}
		refused = append(refused, k.String())
		// The decoder reports the first key it has no place for: the
		// key itself, or the table holding it.
		first := k.path
		for i := 1; i <= len(k.path); i++ {
			if !gw[strings.Join(k.path[:i], ".")] {
				first = k.path[:i]
				break
			}
		}
		name := strings.Join(first, ".")
		var hint string
		if len(first) == 1 || len(first) < len(k.path) || isTable(k.typ) {
			hint = fmt.Sprintf("[%s] is a library section the gateway does not use: ", name)
		} else {
			hint = fmt.Sprintf("[%s] %s is a library setting the gateway does not use: ", strings.Join(first[:len(first)-1], "."), first[len(first)-1])
		}
		if !errors.Is(err, bulwark.ErrUnknownKey) || !errors.Is(err, gateway.ErrConfig) ||
			!strings.Contains(err.Error(), fmt.Sprintf("unknown key %q on line ", name)) ||
			strings.Contains(err.Error(), " on line 0") || !strings.Contains(err.Error(), hint) {
			t.Errorf("%s: error %v, want unknown key %q with its line and %q\n%s", k, err, name, hint, doc)
		}
	}
	t.Logf("accepted %d library keys, refused %d: %s", len(accepted), len(refused), strings.Join(refused, " "))
	// The walk covers what the gateway runs and what it does not.
	for _, want := range []string{"hosts.allowed", "csrf.trusted_origins", "uploads.policy.allow", "rate_limit.name", "headers.csp"} {
		if !slices.Contains(accepted, want) {
			t.Errorf("%s not among the accepted keys %v", want, accepted)
		}
	}
	for _, want := range []string{"csrf.cookie_name", "csrf.use_sessions", "csrf.max_form_bytes", "session", "session.lifetime", "uploads.reencode", "uploads.storage", "uploads.storage.dir"} {
		if !slices.Contains(refused, want) {
			t.Errorf("%s not among the refused keys %v", want, refused)
		}
	}
}

// TestSharedSectionsAreLibraryTypes: every gateway section named like a
// library section is the library's own type (so that a key added to it
// works at the edge as in an application), except [csrf] and [uploads],
// whose every key is a key of the library's section of the same type.
func TestSharedSectionsAreLibraryTypes(t *testing.T) {
	lib := map[string]reflect.Type{}
	for _, k := range walkKeys(reflect.TypeFor[bulwark.Config]()) {
		lib[k.String()] = k.typ
	}
	gt := reflect.TypeFor[gateway.Config]()
	narrowed := map[string]bool{}
	for i := 0; i < gt.NumField(); i++ {
		f := gt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		lt, ok := lib[name]
		switch {
		case !ok:
			continue // the gateway's own section
		case f.Type == reflect.TypeFor[gateway.CSRFConfig](), f.Type == reflect.TypeFor[gateway.UploadsConfig]():
			narrowed[name] = true
		case f.Type != lt:
			t.Errorf("gateway [%s] is a %v, the library's is a %v: share the library's type", name, f.Type, lt)
		}
	}
	if !narrowed["csrf"] || !narrowed["uploads"] {
		t.Errorf("narrowed sections %v, want csrf and uploads", narrowed)
	}
	for _, k := range walkKeys(gt) {
		if !narrowed[k.path[0]] || len(k.path) == 1 {
			continue
		}
		if lt, ok := lib[k.String()]; !ok || lt != k.typ {
			t.Errorf("gateway key %s (%v) is not a key of the library's section (%v)", k, k.typ, lt)
		}
	}
}

// TestServerSections: the sections only a gateway configuration has are
// the gateway's own, read from the types.
func TestServerSections(t *testing.T) {
	for _, name := range []string{"listen", "tls", "upstream", "timeouts", "edge", "access_log", "forwarding", "cluster", "buffering", "health", "pages", "runtime"} {
		if !gateway.IsServerSection(name) {
			t.Errorf("IsServerSection(%q) = false", name)
		}
	}
	for _, name := range []string{"hosts", "csrf", "uploads", "session", "rate_limit", "nope", ""} {
		if gateway.IsServerSection(name) {
			t.Errorf("IsServerSection(%q) = true", name)
		}
	}
}

// valueAt returns the value at the dotted TOML key path in v (the first
// element of an array of tables), following toml tags and untagged
// embedded structs; false when a table on the way is empty.
func valueAt(v reflect.Value, path []string) (reflect.Value, bool) {
	for _, name := range path {
		for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
			if v.IsNil() {
				return v, false
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
			if v.Len() == 0 {
				return v, false
			}
			v = v.Index(0)
		}
		if v.Kind() != reflect.Struct {
			return v, false
		}
		f, ok := fieldByTag(v, name)
		if !ok {
			return v, false
		}
		v = f
	}
	return v, true
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if !f.IsExported() || tag == "-" {
			continue
		}
		if tag == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			if fv, ok := fieldByTag(v.Field(i), name); ok {
				return fv, true
			}
			continue
		}
		if tag == name || tag == "" && strings.EqualFold(f.Name, name) {
			return v.Field(i), true
		}
	}
	return v, false
}

// TestSharedKeysReachTheLibrary: every library key the gateway accepts
// reaches the library configuration the edge runs (Config.Library), and
// survives WithDefaults, so that an accepted key is never one that
// silently does nothing.
func TestSharedKeysReachTheLibrary(t *testing.T) {
	gw := map[string]bool{}
	for _, k := range walkKeys(reflect.TypeFor[gateway.Config]()) {
		gw[k.String()] = true
	}
	checked := 0
	for _, k := range walkKeys(reflect.TypeFor[bulwark.Config]()) {
		if !gw[k.String()] || isTable(k.typ) {
			continue
		}
		var c gateway.Config
		if _, err := toml.Decode(string(docWith(t, k)), &c); err != nil {
			continue // a sample the key's type does not take ("x" for a prefix)
		}
		in, ok := valueAt(reflect.ValueOf(c), k.path)
		if !ok || in.IsZero() {
			t.Errorf("%s: the sample did not decode into the gateway's configuration", k)
			continue
		}
		checked++
		for name, v := range map[string]any{"Library()": c.Library(), "WithDefaults().Library()": c.WithDefaults().Library()} {
			if out, ok := valueAt(reflect.ValueOf(v), k.path); !ok || out.IsZero() {
				t.Errorf("%s is accepted but %s does not carry it", k, name)
			}
		}
	}
	if checked < 50 {
		t.Errorf("checked %d shared keys, want the walk to reach most of them", checked)
	}
	t.Logf("%d shared keys reach the library", checked)
}
