package vectors_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/vectors"
)

func TestObject(t *testing.T) {
	var o vectors.Object
	if err := json.Unmarshal([]byte(`{"b": 1, "a": [2], "c": {"x": null}, "a": 3}`), &o); err != nil {
		t.Fatal(err)
	}
	if want := []string{"b", "a", "c"}; !slices.Equal(o.Keys, want) {
		t.Errorf("keys %q, want %q", o.Keys, want)
	}
	if got := string(o.Values["a"]); got != "3" {
		t.Errorf(`value of "a" = %s, want the last one, 3`, got)
	}
	for _, in := range []string{`[]`, `"s"`, `null`, `{"a":`} {
		if err := json.Unmarshal([]byte(in), new(vectors.Object)); err == nil {
			t.Errorf("%s decoded as an object", in)
		}
	}
}

func TestID(t *testing.T) {
	vec := func(s string) map[string]json.RawMessage {
		var v map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := vectors.ID("sec", vec(`{"test": "tests/x.py::Class.test_one (sub)", "a": 1, "b": [1, 2]}`))
	b := vectors.ID("sec", vec(`{"b": [1,2], "a": 1, "test": "tests/x.py::Class.test_one (sub)"}`))
	if a != b {
		t.Errorf("key order or spacing changed the id: %s, %s", a, b)
	}
	if want := "sec/Class.test_one-"; len(a) != len(want)+8 || a[:len(want)] != want {
		t.Errorf("id %q, want %s and 8 hex digits", a, want)
	}
	if c := vectors.ID("sec", vec(`{"test": "tests/x.py::Class.test_one (sub)", "a": 2, "b": [1, 2]}`)); c == a {
		t.Errorf("different vectors share id %s", a)
	}
	if d := vectors.ID("s", vec(`{"test": "derived (verified by executing Django)"}`)); d[:10] != "s/derived-" {
		t.Errorf("derived vector id %q", d)
	}
}
