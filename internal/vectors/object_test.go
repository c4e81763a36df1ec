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
