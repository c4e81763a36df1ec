// Package djangoname reproduces Django's storage-name functions
// (get_valid_filename, validate_file_name, Storage.generate_filename,
// FileField.generate_filename, Storage.get_available_name, safe_join) with
// their exact error texts, so that Bulwark's conformance tests can replay
// Django's vectors and so that names coming from Django-shaped code can be
// checked the same way. Bulwark itself never stores files under client
// names: package upload generates storage names.
package djangoname

import (
	"crypto/rand"
	"path"
	"strings"
	"unicode"
)

// SuspiciousFileOperation is Django's exception of the same name; Msg is
// Django's exact message.
type SuspiciousFileOperation struct{ Msg string }

func (e *SuspiciousFileOperation) Error() string { return e.Msg }

func suspicious(format, name string) error {
	return &SuspiciousFileOperation{Msg: strings.Replace(format, "%s", name, 1)}
}

const (
	msgDerive    = "Could not derive file name from '%s'"
	msgTraversal = "Detected path traversal attempt in '%s'"
	msgElements  = "File name '%s' includes path elements"
)

// GetValidFilename is django.utils.text.get_valid_filename: strip, spaces
// to "_", keep only [-\w.] (Unicode \w: letters, numbers, "_").
func GetValidFilename(s string) (string, error) {
	v := strings.TrimFunc(s, isPySpace)
	v = strings.ReplaceAll(v, " ", "_")
	v = strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) {
			return r
		}
		return -1
	}, v)
	if v == "" || v == "." || v == ".." {
		return "", suspicious(msgDerive, s)
	}
	return v, nil
}

// isPySpace is Python's str.isspace (used by str.strip()).
func isPySpace(r rune) bool {
	switch r {
	case '\x1c', '\x1d', '\x1e', '\x1f':
		return true
	}
	return unicode.IsSpace(r)
}

// basename is os.path.basename on POSIX: what follows the last "/".
func basename(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// split is os.path.split on POSIX.
func split(p string) (dir, file string) {
	i := strings.LastIndexByte(p, '/') + 1
	dir, file = p[:i], p[i:]
	if dir != "" && strings.Trim(dir, "/") != "" {
		dir = strings.TrimRight(dir, "/")
	}
	return dir, file
}

// parts is pathlib.PurePosixPath(p).parts without the root: the non-empty,
// non-"." components.
func parts(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

func hasDotDot(p string) bool {
	for _, c := range parts(p) {
		if c == ".." {
			return true
		}
	}
	return false
}

// ValidateFileName is django.core.files.utils.validate_file_name.
func ValidateFileName(name string, allowRelativePath bool) (string, error) {
	if b := basename(name); b == "" || b == "." || b == ".." {
		return "", suspicious(msgDerive, name)
	}
	if allowRelativePath {
		p := strings.ReplaceAll(name, `\`, "/")
		if strings.HasPrefix(p, "/") || hasDotDot(p) {
			return "", suspicious(msgTraversal, name)
		}
	} else if name != basename(name) {
		return "", suspicious(msgElements, name)
	}
	return name, nil
}

// normpath is posixpath.normpath: path.Clean, except that exactly two
// leading slashes are kept and "" is ".".
func normpath(p string) string {
	if p == "" {
		return "."
	}
	c := path.Clean(p)
	if strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "///") {
		c = "/" + c
	}
	return c
}

// join is posixpath.join of two components.
func join(a, b string) string {
	if strings.HasPrefix(b, "/") || a == "" {
		return b
	}
	if strings.HasSuffix(a, "/") {
		return a + b
	}
	return a + "/" + b
}

// GenerateFilename is Storage.generate_filename.
func GenerateFilename(filename string) (string, error) {
	filename = strings.ReplaceAll(filename, `\`, "/")
	dir, file := split(filename)
	if hasDotDot(dir) {
		return "", suspicious(msgTraversal, dir)
	}
	valid, err := GetValidFilename(file)
	if err != nil {
		return "", err
	}
	return normpath(join(dir, valid)), nil
}

// UploadTo is a FileField's upload_to.
type UploadTo struct {
	// Kind is "string" (a directory, strftime-expanded, joined with the
	// name), "prefix" (a callable returning Value + filename) or
	// "constant" (a callable returning Value).
	Kind  string
	Value string
}

// FieldGenerateFilename is FileField.generate_filename. String upload_to
// values are used without strftime expansion.
func FieldGenerateFilename(up UploadTo, filename string) (string, error) {
	switch up.Kind {
	case "string":
		filename = join(up.Value, filename)
	case "prefix":
		filename = up.Value + filename
	case "constant":
		filename = up.Value
	}
	if _, err := ValidateFileName(filename, true); err != nil {
		return "", err
	}
	return GenerateFilename(filename)
}

// suffixes is pathlib.PurePath(name).suffixes joined.
func suffixes(name string) string {
	if strings.HasSuffix(name, ".") {
		return ""
	}
	s := strings.Split(strings.TrimLeft(name, "."), ".")
	if len(s) < 2 {
		return ""
	}
	return "." + strings.Join(s[1:], ".")
}

// GetAvailableName is Storage.get_available_name; exists reports whether a
// name is taken; allowOverwrite is FileSystemStorage(allow_overwrite=True),
// whose is_name_available ignores existing files and whose alternative
// name is the name itself, so only max_length can change the name (by
// cutting its root); maxLength 0 means none.
func GetAvailableName(name string, maxLength int, allowOverwrite bool, exists func(string) bool) (string, error) {
	name = strings.ReplaceAll(name, `\`, "/")
	dir, file := split(name)
	if hasDotDot(dir) {
		return "", suspicious(msgTraversal, dir)
	}
	if _, err := ValidateFileName(file, false); err != nil {
		return "", err
	}
	ext := suffixes(file)
	root := strings.TrimSuffix(file, ext)
	available := func(name string) bool {
		if maxLength > 0 && len([]rune(name)) > maxLength {
			return false
		}
		return allowOverwrite || !exists(name)
	}
	alternative := func() string {
		if allowOverwrite {
			return join(dir, root+ext)
		}
		return join(dir, root+"_"+randomString(7)+ext)
	}
	for !available(name) {
		name = alternative()
		if maxLength == 0 {
			continue
		}
		if cut := len([]rune(name)) - maxLength; cut > 0 {
			r := []rune(root)
			if cut >= len(r) {
				return "", &SuspiciousFileOperation{Msg: `Storage can not find an available filename for "` + name + `". Please make sure that the corresponding file field allows sufficient "max_length".`}
			}
			root = string(r[:len(r)-cut])
			name = alternative()
		}
	}
	return name, nil
}

func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		var c [1]byte
		for {
			rand.Read(c[:])
			if int(c[0]) < 256-256%len(alphabet) {
				break
			}
		}
		b[i] = alphabet[int(c[0])%len(alphabet)]
	}
	return string(b)
}

// SafeJoin is django.utils._os.safe_join on POSIX: the absolute join of
// base and name, refused when it leaves base.
func SafeJoin(base, name string) (string, error) {
	final := path.Clean(join(base, name))
	b := path.Clean(base)
	if final != b && !strings.HasPrefix(final, b+"/") && b != "/" {
		return "", &SuspiciousFileOperation{Msg: "The joined path (" + final + ") is located outside of the base path component (" + b + ")"}
	}
	return final, nil
}

// UploadedFileName is the UploadedFile.name setter: the basename, cut to
// 255 characters (extension first, as os.path.splitext splits it), then
// validated.
func UploadedFileName(name string) (string, error) {
	name = basename(name)
	if r := []rune(name); len(r) > 255 {
		root, ext := splitExt(name)
		re := []rune(ext)
		if len(re) > 255 {
			re = re[:255]
		}
		rr := []rune(root)
		if keep := 255 - len(re); len(rr) > keep {
			rr = rr[:keep]
		}
		name = string(rr) + string(re)
	}
	return ValidateFileName(name, false)
}

// splitExt is posixpath.splitext.
func splitExt(name string) (root, ext string) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 || strings.Trim(name[:dot], ".") == "" {
		return name, ""
	}
	return name[:dot], name[dot:]
}
