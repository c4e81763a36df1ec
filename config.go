package bulwark

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ConfigError is a problem in a configuration file: an unknown key, a value
// of the wrong type, a duration written as a number, or a syntax error.
type ConfigError struct {
	File string // the file name given to LoadConfig; empty for ParseConfig
	Line int    // 1-based; 0 when unknown
	Key  string // the full dotted key, when known
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString("bulwark: ")
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrUnknownKey is wrapped by the ConfigError for a key that no section
// defines (a typo that would otherwise silently keep a default).
var ErrUnknownKey = errors.New("unknown key")

// Is lets errors.Is(err, ErrUnknownKey) match unknown-key errors.
func (e *ConfigError) Is(target error) bool {
	return target == ErrUnknownKey && strings.HasPrefix(e.Msg, "unknown key")
}

// LoadConfig reads a TOML configuration file. Decoding is strict: an unknown
// key is an error naming the full key and its line
// (bulwark: config.toml:12: unknown key "hosts.alowed"), as is a value of
// the wrong type; durations are strings such as "15m" or "8760h" (a bare
// number would silently mean nanoseconds, so it is an error). LoadConfig
// does not validate the values: New and Config.Validate do.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("bulwark: %w", err)
	}
	return parseConfig(path, data)
}

// ParseConfig is LoadConfig for a configuration already in memory; errors
// name lines ("line 12") instead of file positions.
func ParseConfig(data []byte) (Config, error) {
	return parseConfig("", data)
}

func parseConfig(file string, data []byte) (Config, error) {
	var c Config
	md, err := toml.NewDecoder(strings.NewReader(string(data))).Decode(&c)
	if err != nil {
		return Config{}, decodeError(file, data, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		return Config{}, &ConfigError{File: file, Line: keyLine(data, k), Key: k.String(),
			Msg: fmt.Sprintf("unknown key %q", k.String())}
	}
	durations := durationKeys(reflect.TypeFor[Config](), "")
	for _, k := range md.Keys() {
		if durations[k.String()] && md.Type(k...) != "String" {
			return Config{}, &ConfigError{File: file, Line: keyLine(data, k), Key: k.String(),
				Msg: fmt.Sprintf("key %q: a duration must be a string such as \"8760h\" or \"15m\"", k.String())}
		}
	}
	return c, nil
}

// decodeError turns a toml error into a ConfigError with its line.
func decodeError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &ConfigError{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	// Type mismatches come as "toml: line N (last key "k"): message".
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	ce := &ConfigError{File: file, Msg: msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, " "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				ce.Line = n
				ce.Msg = tail
				if strings.HasPrefix(tail, "(last key ") {
					if q, after, ok := strings.Cut(strings.TrimPrefix(tail, "(last key "), "): "); ok {
						if k, err := strconv.Unquote(q); err == nil {
							ce.Key = k
							ce.Msg = fmt.Sprintf("key %q: %s", k, after)
						}
					}
				}
			}
		}
	}
	return ce
}

// durationKeys returns the dotted TOML keys of every time.Duration field
// reachable from t (through structs and slices of structs).
func durationKeys(t reflect.Type, prefix string) map[string]bool {
	out := map[string]bool{}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return out
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" && f.Anonymous {
			// An embedded struct's keys sit in the embedding table.
			for k := range durationKeys(f.Type, prefix) {
				out[k] = true
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if f.Type == reflect.TypeFor[time.Duration]() {
			out[key] = true
			continue
		}
		for k := range durationKeys(f.Type, key) {
			out[k] = true
		}
	}
	return out
}

// keyLine finds the line where key k is defined in a TOML document: a table
// header naming it, or a "key = value" line (dotted or not) under the table
// that completes it. It understands what configuration files use (bare and
// quoted keys, [tables], [[arrays]], inline values) and returns 0 when it
// cannot tell.
func keyLine(data []byte, k []string) int {
	want := strings.Join(k, ".")
	table := ""
	inMulti := "" // the closing delimiter of a multi-line string
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(line)
		if inMulti != "" {
			if strings.Contains(s, inMulti) {
				inMulti = ""
			}
			continue
		}
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			name := strings.Trim(s, "[] \t")
			if j := strings.IndexByte(name, '#'); j >= 0 {
				name = strings.TrimRight(strings.Trim(name[:j], " \t"), "]")
			}
			table = normKey(name)
			if table == want {
				return i + 1
			}
			continue
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			continue
		}
		key := normKey(s[:eq])
		if table != "" {
			key = table + "." + key
		}
		if key == want || strings.HasPrefix(key, want+".") {
			return i + 1
		}
		if v := strings.TrimSpace(s[eq+1:]); strings.HasPrefix(v, `"""`) || strings.HasPrefix(v, "'''") {
			if strings.Count(v, v[:3]) == 1 {
				inMulti = v[:3]
			}
		}
	}
	return 0
}

// normKey turns `a . "b" . c` into a.b.c.
func normKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && (p[0] == '"' || p[0] == '\'') && p[len(p)-1] == p[0] {
			p = p[1 : len(p)-1]
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}
