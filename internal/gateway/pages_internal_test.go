package gateway

import (
	"strings"
	"testing"
)

var acceptSeeds = []string{
	"",
	"*/*",
	"application/json",
	"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	"application/json, text/plain, */*",
	"text/html;q=0.5, application/json;q=0.9",
	"application/json;q=0.2, text/html",
	"application/problem+json",
	"application/json;q=0",
	"application/json;q=abc",
	"text/html, application/json",
	";;;,,,",
}

func TestPrefersJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                  false,
		"*/*":                               false,
		"application/json":                  true,
		acceptSeeds[3]:                      false, // a browser
		"application/json, text/plain, */*": true,  // axios, fetch wrappers
		"text/html;q=0.5, application/json;q=0.9": true,
		"application/json;q=0.2, text/html":       false,
		"application/problem+json":                true,
		"application/json;q=0":                    false,
		"text/html, application/json":             false, // a tie goes to HTML
		";;;,,,":                                  false,
	} {
		if got := prefersJSON(accept); got != want {
			t.Errorf("prefersJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

// FuzzPrefersJSON asserts that any Accept header is read without panic,
// and that JSON is chosen only when the header names a JSON type: no
// spelling makes a browser's request get a page of another kind.
func FuzzPrefersJSON(f *testing.F) {
	if len(acceptSeeds) == 0 {
		f.Fatal("no seeds")
	}
	for _, s := range acceptSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		if prefersJSON(accept) && !strings.Contains(strings.ToLower(accept), "json") {
			t.Errorf("prefersJSON(%q) without a JSON type", accept)
		}
	})
}
