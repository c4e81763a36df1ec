package gateway

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
)

// TestNewLibraryKeyNeedsNoGatewayEdit: a key the library adds is accepted
// or refused by the types alone. Here the library's [csrf] and [hosts]
// gain a key and the library gains a section (built with reflect, as a
// later bulwark.Config would be): the hint finds them by their tags, the
// gateway's narrowed [csrf] has no place for the new csrf key, and its
// [hosts], the library's own type, decodes whatever hosts.Config holds.
func TestNewLibraryKeyNeedsNoGatewayEdit(t *testing.T) {
	withKey := func(base reflect.Type) reflect.Type {
		return reflect.StructOf([]reflect.StructField{
			{Name: base.Name(), Type: base, Anonymous: true},
			{Name: "NewKey", Type: reflect.TypeFor[string](), Tag: `toml:"new_key"`},
		})
	}
	lib := reflect.StructOf([]reflect.StructField{
		{Name: "CSRF", Type: withKey(reflect.TypeFor[csrf.Config]()), Tag: `toml:"csrf"`},
		{Name: "Hosts", Type: withKey(reflect.TypeFor[hosts.Config]()), Tag: `toml:"hosts"`},
		{Name: "Later", Type: reflect.TypeFor[struct {
			On bool `toml:"on"`
		}](), Tag: `toml:"later"`},
	})
	for _, tc := range []struct {
		key  toml.Key
		want string
	}{
		{toml.Key{"csrf", "new_key"}, ": [csrf] new_key is a library setting the gateway does not use: the edge checks no CSRF tokens"},
		{toml.Key{"csrf", "cookie_name"}, ": [csrf] cookie_name is a library setting"},
		{toml.Key{"later"}, ": [later] is a library section the gateway does not use: the edge does not run it; remove it"},
		{toml.Key{"later", "on"}, ": [later] on is a library setting the gateway does not use"},
		{toml.Key{"csrf", "typo"}, ""},
		{toml.Key{"elsewhere"}, ""},
	} {
		if got := libraryHintIn(lib, tc.key); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
			t.Errorf("hint for %s = %q, want %q", tc.key, got, tc.want)
		}
	}
	// The gateway's own [csrf] has no place for a key it does not
	// declare, whatever the library adds: the decoder reports it.
	doc := "[upstream]\nurl = \"http://127.0.0.1:8000\"\n[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n[csrf]\nnew_key = \"x\"\n"
	if _, err := Parse([]byte(doc)); !errors.Is(err, bulwark.ErrUnknownKey) || !strings.Contains(err.Error(), `unknown key "csrf.new_key" on line 7`) {
		t.Errorf("csrf.new_key: %v, want an unknown key on line 7", err)
	}
	// The gateway's [hosts] is the library's type: what hosts.Config
	// gains, it decodes.
	if f, ok := reflect.TypeFor[Config]().FieldByName("Hosts"); !ok || f.Type != reflect.TypeFor[hosts.Config]() {
		t.Errorf("gateway [hosts] is not hosts.Config")
	}
}

// TestUnusedWhyNamesLibrarySections: every reason is for a section of
// bulwark.Config, so a renamed section cannot leave a reason behind.
func TestUnusedWhyNamesLibrarySections(t *testing.T) {
	for name := range unusedWhy {
		if !IsLibraryKey(toml.Key{name}) || IsServerSection(name) {
			t.Errorf("unusedWhy names %q, which is not a library section", name)
		}
	}
}
