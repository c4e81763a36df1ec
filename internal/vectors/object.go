package vectors

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Object is a JSON object that remembers its key order, as Django's
// settings dicts (and so, for example, CSP directive order) do. Decode a
// vector's dict into it where the order carries meaning.
type Object struct {
	// Keys are the object's keys in document order.
	Keys []string
	// Values maps each key to its undecoded value.
	Values map[string]json.RawMessage
}

// UnmarshalJSON decodes a JSON object, keeping its key order; any other
// JSON value is an error. A repeated key keeps its first place and its
// last value, as a Python dict built from the same text would.
func (o *Object) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("vectors: want an object, got %v", tok)
	}
	o.Keys, o.Values = nil, map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		k := tok.(string) // inside an object, the decoder yields keys as strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		if _, seen := o.Values[k]; !seen {
			o.Keys = append(o.Keys, k)
		}
		o.Values[k] = v
	}
	return nil
}
