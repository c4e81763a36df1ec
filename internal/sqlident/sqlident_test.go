package sqlident

import (
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		s    string
		max  int
		want bool
	}{
		{"bulwark_sessions", 56, true},
		{"_x1", 56, true},
		{"Mixed_Case", 56, true},
		{"", 56, false},
		{"1abc", 56, false},
		{"a-b", 56, false},
		{"a b", 56, false},
		{`x"; DROP TABLE t; --`, 56, false},
		{"é", 56, false},
		{strings.Repeat("a", 56), 56, true},
		{strings.Repeat("a", 57), 56, false},
	} {
		if got := Valid(tc.s, tc.max); got != tc.want {
			t.Errorf("Valid(%q, %d) = %v, want %v", tc.s, tc.max, got, tc.want)
		}
	}
}

func TestCheckPostgres(t *testing.T) {
	if err := CheckPostgres("pgstore", "", "", 56); err != nil {
		t.Errorf("zero names: %v", err)
	}
	if err := CheckPostgres("pgstore", "public", "t", 56); err != nil {
		t.Errorf("plain names: %v", err)
	}
	if err := CheckPostgres("pgstore", "", "a.b", 56); err == nil || !strings.HasPrefix(err.Error(), "pgstore: table name") {
		t.Errorf("bad table: %v", err)
	}
	if err := CheckPostgres("pgstore", strings.Repeat("s", 64), "t", 56); err == nil || !strings.Contains(err.Error(), "schema name") {
		t.Errorf("long schema: %v", err)
	}
}
