package limits_test

import (
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark/limits"
)

// TestTOML checks the configuration keys as a user writes them: embedded
// Values fields sit at the top of their table.
func TestTOML(t *testing.T) {
	const doc = `
max_body_bytes = 1048576
max_fields = 50
file_memory_threshold = 65536

[[routes]]
pattern = "POST /upload/"
max_body_bytes = 104857600
max_files = 5
`
	var c limits.Config
	md, err := toml.Decode(doc, &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	if c.MaxBodyBytes != 1<<20 || c.MaxFields != 50 || c.FileMemoryThreshold != 65536 || len(c.Routes) != 1 ||
		c.Routes[0].Pattern != "POST /upload/" || c.Routes[0].MaxBodyBytes != 100<<20 || c.Routes[0].MaxFiles != 5 {
		t.Fatalf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
