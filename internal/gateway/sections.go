package gateway

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// CSRFConfig is the gateway's [csrf] section: the keys of csrf.Config the
// edge runs. Only the Fetch Metadata and Origin layer runs, on
// Edge.CSRFPaths. The token layer is always off: the gateway cannot put
// tokens in the upstream's pages, and the upstream keeps its own token
// check, so the token keys of csrf.Config (cookie_*, header_name,
// use_sessions, max_form_bytes, and any the library adds) are not keys of
// this section, and Parse refuses them.
type CSRFConfig struct {
	// TrustedOrigins are the other origins unsafe requests may come from
	// (csrf.Config.TrustedOrigins: Django's CSRF_TRUSTED_ORIGINS, with
	// wildcards). Empty (the default): only the site's own origin.
	TrustedOrigins []string `toml:"trusted_origins"`
	// InsecureBypassPaths are paths the check skips
	// (csrf.Config.InsecureBypassPaths), for clients that send neither
	// Origin, Sec-Fetch-Site nor Referer (webhooks). Empty (the default):
	// none. Edge.CSRFPaths is the other way to scope the check.
	InsecureBypassPaths []string `toml:"insecure_bypass_paths"`
	// InsecureSkipTokens is always true at the edge, whatever the file
	// says (see Library): the key is accepted so that the printout of
	// EncodeEffective, which shows it, loads again.
	InsecureSkipTokens bool `toml:"insecure_skip_tokens"`
	// RefererWithoutTokens (Django's HTTPS Referer rule for requests with
	// neither Origin nor Sec-Fetch-Site) is always true at the edge,
	// whatever the file says (see Library).
	RefererWithoutTokens bool `toml:"referer_without_tokens"`
	// Development states the failure reason in the 403 body
	// (csrf.Config.Development). False (the default): the status text
	// only.
	Development bool `toml:"development"`
}

// library returns c as the library's section, before Library forces the
// edge's settings.
func (c CSRFConfig) library() csrf.Config {
	return csrf.Config{
		TrustedOrigins:       c.TrustedOrigins,
		InsecureBypassPaths:  c.InsecureBypassPaths,
		InsecureSkipTokens:   c.InsecureSkipTokens,
		RefererWithoutTokens: c.RefererWithoutTokens,
		Development:          c.Development,
	}
}

// edgeCSRF narrows the library's section to the keys the edge has.
func edgeCSRF(c csrf.Config) CSRFConfig {
	return CSRFConfig{
		TrustedOrigins:       c.TrustedOrigins,
		InsecureBypassPaths:  c.InsecureBypassPaths,
		InsecureSkipTokens:   c.InsecureSkipTokens,
		RefererWithoutTokens: c.RefererWithoutTokens,
		Development:          c.Development,
	}
}

// UploadsConfig is the gateway's [uploads] section: the keys of
// bulwark.UploadsConfig the edge runs. An accepted body reaches the
// upstream byte for byte and the upstream stores the files, so reencode
// and the storage table (and any key the library adds to the top of the
// section) are not keys of this section, and Parse refuses them; the
// policy table is inspect.Policy itself.
type UploadsConfig struct {
	// Paths are the request paths whose multipart bodies are inspected
	// (bulwark.UploadsConfig.Paths). Empty (the default): every path
	// (DefaultUploadPaths), unlike the library's zero: an upstream may
	// take files on any view, and a list that forgets one leaves it
	// uninspected.
	Paths []string `toml:"paths"`
	// ExemptPaths are paths under Paths that are not inspected
	// (bulwark.UploadsConfig.ExemptPaths). Empty (the default): none.
	ExemptPaths []string `toml:"exempt_paths"`
	// TempDir is where large files are spooled (upload.Config.TempDir).
	// Empty means os.TempDir().
	TempDir string `toml:"temp_dir"`
	// Policy decides which content is accepted (upload.Config.Policy).
	// The zero Policy allows inspect.DefaultAllow.
	Policy inspect.Policy `toml:"policy"`
	// Forward is always true at the edge, whatever the file says (see
	// Library): the key is accepted so that the printout of
	// EncodeEffective, which shows it, loads again.
	Forward bool `toml:"forward"`
	// RawBodies says what is done with a body that is neither multipart
	// nor a form (upload.Config.RawBodies). Empty means "inspect".
	RawBodies string `toml:"raw_bodies"`
}

// library returns c as the library's section, before Library forces the
// edge's settings.
func (c UploadsConfig) library() bulwark.UploadsConfig {
	return bulwark.UploadsConfig{
		Paths:       c.Paths,
		ExemptPaths: c.ExemptPaths,
		Config: upload.Config{
			TempDir:   c.TempDir,
			Policy:    c.Policy,
			Forward:   c.Forward,
			RawBodies: c.RawBodies,
		},
	}
}

// edgeUploads narrows the library's section to the keys the edge has.
func edgeUploads(c bulwark.UploadsConfig) UploadsConfig {
	return UploadsConfig{
		Paths:       c.Paths,
		ExemptPaths: c.ExemptPaths,
		TempDir:     c.TempDir,
		Policy:      c.Policy,
		Forward:     c.Forward,
		RawBodies:   c.RawBodies,
	}
}

// Library returns the library configuration as the edge runs it: the
// token layer of [csrf] off (the upstream owns its tokens) with Django's
// HTTPS Referer rule kept (csrf.Config.RefererWithoutTokens), and accepted
// uploads forwarded unchanged (the upstream reads them). All are forced
// rather than asked for, so that a file cannot configure a gateway that
// refuses every form or swallows every upload.
func (c Config) Library() bulwark.Config {
	lc := bulwark.Config{
		Proxy:            c.Proxy,
		Hosts:            c.Hosts,
		HTTPS:            c.HTTPS,
		Headers:          c.Headers,
		RateLimit:        c.RateLimit,
		RateLimitStore:   c.RateLimitStore,
		RateLimitObserve: c.RateLimitObserve,
		Limits:           c.Limits,
		CSRF:             c.CSRF.library(),
		Uploads:          c.Uploads.library(),
		Media:            c.Media,
		Signing:          c.Signing,
	}
	lc.CSRF.InsecureSkipTokens = true
	// Without tokens, Django's HTTPS Referer rule is the only check left
	// for a request with neither Origin nor Sec-Fetch-Site (an old
	// browser, or a page that suppressed both): a cross-origin Referer
	// must not pass the edge when Django itself would refuse it. Clients
	// that send none of the three (webhooks) need an exempt path.
	lc.CSRF.RefererWithoutTokens = true
	if len(lc.Uploads.Paths) == 0 {
		// Every path: an upstream may take files on any view (Django's
		// admin has one per model with a FileField), and a list of
		// upload paths that forgets one leaves it uninspected.
		// uploads.exempt_paths names the exceptions.
		lc.Uploads.Paths = DefaultUploadPaths()
	}
	lc.Uploads.Forward = true
	return lc
}

// setLibrary sets the library sections of c from lc (the inverse of
// Library), narrowing [csrf] and [uploads] to the keys the edge has.
func (c *Config) setLibrary(lc bulwark.Config) {
	c.Proxy = lc.Proxy
	c.Hosts = lc.Hosts
	c.HTTPS = lc.HTTPS
	c.Headers = lc.Headers
	c.RateLimit = lc.RateLimit
	c.Limits = lc.Limits
	c.CSRF = edgeCSRF(lc.CSRF)
	c.Uploads = edgeUploads(lc.Uploads)
	c.Media = lc.Media
	c.Signing = lc.Signing
}

// unusedWhy says, per library section, why the edge does not run the
// library keys that its section lacks. A section not named here gets a
// generic reason; which keys are refused is decided by the types alone.
var unusedWhy = map[string]string{
	"csrf":    "the edge checks no CSRF tokens (the upstream keeps its own token check and cookie)",
	"session": "the gateway keeps no sessions (the upstream does)",
	"uploads": "the gateway forwards accepted uploads byte for byte and stores none (the upstream stores them)",
}

// IsLibraryKey reports whether the dotted TOML key k, which a gateway
// configuration has no place for, is a key of bulwark.Config: a library
// setting the gateway does not use, rather than a typo. It follows the
// library's types by their toml tags, so a key the library gains is
// recognised without an edit here.
func IsLibraryKey(k toml.Key) bool {
	_, ok := keyType(reflect.TypeFor[bulwark.Config](), k)
	return ok && len(k) > 0
}

// IsServerSection reports whether name is a top-level table of the
// gateway's configuration that bulwark.Config has not ([listen], [tls],
// [upstream], ...): a section only a gateway configuration has. It reads
// both types, so a section added to either needs no edit here.
func IsServerSection(name string) bool {
	_, gw := tomlField(reflect.TypeFor[Config](), name)
	_, lib := tomlField(reflect.TypeFor[bulwark.Config](), name)
	return gw && !lib
}

// libraryHint explains an unknown key that is a key of bulwark.Config: a
// library setting the edge does not run. It returns "" for any other key
// (a typo). The key is looked up in the library's types by their toml
// tags, so a key added to the library is explained without an edit here.
func libraryHint(k toml.Key) string {
	return libraryHintIn(reflect.TypeFor[bulwark.Config](), k)
}

// libraryHintIn is libraryHint for the library configuration type lib.
func libraryHintIn(lib reflect.Type, k toml.Key) string {
	t, ok := keyType(lib, k)
	if !ok || len(k) == 0 {
		return ""
	}
	why := unusedWhy[k[0]]
	if why == "" {
		why = "the edge does not run it"
	}
	if len(k) == 1 || isTable(t) {
		return fmt.Sprintf(": [%s] is a library section the gateway does not use: %s; remove it", strings.Join(k, "."), why)
	}
	return fmt.Sprintf(": [%s] %s is a library setting the gateway does not use: %s; remove it", strings.Join(k[:len(k)-1], "."), k[len(k)-1], why)
}

// keyType returns the type the dotted TOML key k decodes into in t,
// following toml tags, embedded structs, slices (arrays of tables) and
// pointers as the decoder does; false when t has no such key. A key
// inside a map has the map's element type.
func keyType(t reflect.Type, k []string) (reflect.Type, bool) {
	for _, name := range k {
		t = deref(t)
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := tomlField(t, name)
			if !ok {
				return nil, false
			}
			t = f
		default:
			return nil, false
		}
	}
	return t, true
}

// deref strips pointers, slices and arrays from t.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t
}

// isTable reports whether a value of type t is written as a TOML table
// (a struct or map that does not decode from text).
func isTable(t reflect.Type) bool {
	t = deref(t)
	if reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return false
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}

// tomlField returns the type of the field of struct t that the TOML key
// name decodes into: by toml tag, or, untagged, by field name, ignoring
// case as the decoder does; the fields of an untagged embedded struct
// count as t's own.
func tomlField(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		switch {
		case tag == "-":
			continue
		case tag == "" && f.Anonymous && f.Type.Kind() == reflect.Struct:
			if ft, ok := tomlField(f.Type, name); ok {
				return ft, true
			}
		case tag != "" && strings.EqualFold(tag, name), tag == "" && strings.EqualFold(f.Name, name):
			return f.Type, true
		}
	}
	return nil, false
}
