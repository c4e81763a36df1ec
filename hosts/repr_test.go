package hosts_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/bulwarkdev/bulwark/hosts"
)

// TestDjangoMessageRepr compares the quoting of hosts in DisallowedHost
// messages with Python's repr() (testdata/repr.json, made by
// testdata/gen_repr.py): quotes, escapes, and which characters count as
// printable.
func TestDjangoMessageRepr(t *testing.T) {
	data, err := os.ReadFile("testdata/repr.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ S, Repr string }
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		he := &hosts.HostError{Host: c.S}
		want := "Invalid HTTP_HOST header: " + c.Repr + ". The domain name provided is not valid according to RFC 1034/1035."
		if got := he.DjangoMessage(); got != want {
			t.Errorf("%q:\n got %s\nwant %s", c.S, got, want)
		}
	}
}
