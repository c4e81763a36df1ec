package upload_test

import (
	"encoding/json"
	"errors"
	"os"
	"path"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/internal/djangoname"
)

// multipartSeeds are bodies for boundary "XyZ".
func multipartSeeds() []string {
	return []string{
		field("a", "1") + filePart("f", "x.png", "hello") + end,
		"preamble\r\n" + field("a", "1") + end + "epilogue",
		"--XyZ\r\n\r\nraw\r\n" + end,
		"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n" + end,
		strings.Repeat(field("a", ""), 8) + end,
		strings.Repeat(filePart("f", "a.png", "x"), 5) + end,
		filePart("f", "big.png", strings.Repeat("z", 300)) + end,
		"--XyZ\r\nContent-Disposition: form-data; name*=UTF-8''%C3%A9; filename*=UTF-8''%E2%88%95.png\r\n\r\nv\r\n" + end,
		"--XyZ\r\nX: " + strings.Repeat("h", 2000) + "\r\n\r\n" + end,
	}
}

func TestFuzzSeedsNotEmpty(t *testing.T) {
	if len(multipartSeeds()) == 0 || len(filenameSeeds(t)) == 0 {
		t.Fatal("empty seed corpus")
	}
}

// FuzzReadForm checks the multipart reader's security properties on any
// body: it never keeps more fields, files, field bytes, file bytes or
// in-memory file bytes than the limits allow, and it never leaves files
// in its temporary directory, whether it succeeds (after RemoveAll) or
// fails.
func FuzzReadForm(f *testing.F) {
	for _, s := range multipartSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		lim := limits.Default()
		lim.MaxFields, lim.MaxFiles, lim.MaxFormBytes, lim.MaxFileBytes, lim.FileMemoryThreshold, lim.MaxPartHeaderBytes = 6, 4, 200, 500, 64, 256
		dir := t.TempDir()
		form, err := upload.ReadForm(strings.NewReader(string(body)), ct, lim, dir)
		if err != nil {
			var le *limits.Error
			if !errors.As(err, &le) && !errors.Is(err, upload.ErrMalformed) {
				t.Fatalf("unexpected error kind: %v", err)
			}
		} else {
			fields, fieldBytes, files, mem := 0, 0, 0, int64(0)
			for k, vs := range form.Value {
				fields += len(vs)
				for _, v := range vs {
					fieldBytes += len(k) + len(v) + 2
				}
			}
			for _, fs := range form.File {
				for _, fl := range fs {
					files++
					if fl.Size > lim.MaxFileBytes {
						t.Fatalf("file of %d bytes kept, cap %d", fl.Size, lim.MaxFileBytes)
					}
					if fl.InMemory() {
						mem += fl.Size
					}
					if strings.ContainsAny(fl.Filename, "/\\\x00") {
						t.Fatalf("unsafe filename %q", fl.Filename)
					}
				}
			}
			if fields > lim.MaxFields || files > lim.MaxFiles || int64(fieldBytes) > lim.MaxFormBytes || mem > lim.FileMemoryThreshold {
				t.Fatalf("limits exceeded: %d fields, %d files, %d field bytes, %d bytes of files in memory", fields, files, fieldBytes, mem)
			}
			if err := form.RemoveAll(); err != nil {
				t.Fatal(err)
			}
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 0 {
			t.Fatalf("%d temporary entries left", len(ents))
		}
	})
}

func filenameSeeds(t testing.TB) []string {
	var vf filenameVectors
	vectors.Load(t, "upload_filenames.json", &vf)
	var out []string
	for _, sec := range vf.Sections {
		for _, raw := range sec.Vectors {
			var v filenameVector
			if err := json.Unmarshal(raw, &v); err == nil {
				if v.Input != nil {
					out = append(out, *v.Input)
				}
				if v.ContentDispositionFilename != nil {
					out = append(out, *v.ContentDispositionFilename)
				}
			}
		}
	}
	return append(out, "..&#x2F;..&#x2F;x", "a\u2215b", "a\uff0fb", "C:evil.txt", "&amp;sol;x", "\u202egnp.exe", "e\u0301.png")
}

// FuzzSanitizeFilename checks, for any client filename: the display name
// never holds "/", "\", NUL or a non-printable character, is valid UTF-8
// and NFC; sanitising it again changes nothing (unless it still holds an
// HTML entity, which Django's sanitiser unescapes once per pass); and a
// name derived from it by Django's FileField rules never leaves the
// storage root.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range filenameSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := upload.DisplayName(in)
		if !ok {
			return
		}
		if out == "" || out == "." || out == ".." || !utf8.ValidString(out) {
			t.Fatalf("DisplayName(%q) = %q", in, out)
		}
		for _, r := range out {
			if r == '/' || r == '\\' || r == 0 || !upload.IsPrintable(r) {
				t.Fatalf("DisplayName(%q) = %q holds %U", in, out, r)
			}
		}
		if !strings.Contains(out, "&") {
			if again, ok := upload.DisplayName(out); !ok || again != out {
				t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
			}
		}
		if name, err := djangoname.FieldGenerateFilename(djangoname.UploadTo{Kind: "string", Value: "uploads/"}, out); err == nil {
			if p := path.Clean("/srv/media/" + name); !strings.HasPrefix(p, "/srv/media/") {
				t.Fatalf("storage name %q from %q escapes the root", name, in)
			}
		}
	})
}
