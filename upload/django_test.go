package upload_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/vectors"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/internal/djangoname"
)

type filenameVectors struct {
	Sections []struct {
		Name    string            `json:"name"`
		Vectors []json.RawMessage `json:"vectors"`
	} `json:"sections"`
}

// filenameVector is every field the file may carry. A vector with an
// expectation this harness does not know (an unknown "expected..." field)
// is refused rather than replayed with that expectation unchecked; other
// unknown fields are descriptive and ignored.
type filenameVector struct {
	Test                       string                        `json:"test"`
	Note                       string                        `json:"note"`
	FilenameSpec               json.RawMessage               `json:"content_disposition_filename_spec"` // how the name was built; the name itself is given
	Function                   string                        `json:"function"`
	Input                      *string                       `json:"input"`
	Expected                   json.RawMessage               `json:"expected"`
	ExpectedError              string                        `json:"expected_error"`
	Message                    string                        `json:"message"`
	ExpectedPattern            string                        `json:"expected_pattern"`
	ExistingFiles              []string                      `json:"existing_files"`
	MaxLength                  int                           `json:"max_length"`
	UploadTo                   *struct{ Kind, Value string } `json:"upload_to"`
	Location                   string                        `json:"location"`
	Field                      string                        `json:"field"`
	ContentDispositionFilename *string                       `json:"content_disposition_filename"`
	ContentDisposition         string                        `json:"content_disposition"`
	ExpectedName               json.RawMessage               `json:"expected_name"`
	ExpectedLength             int                           `json:"expected_length"`
	ExpectedFiles              map[string]*string            `json:"expected_files"`
}

// expectString decodes an "expected" value: a string, or null (nil).
func expectString(raw json.RawMessage) (*string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkErr compares a result with a vector's expected value or error.
func checkErr(v filenameVector, got string, err error) error {
	if v.ExpectedError != "" || v.Message != "" {
		var sfo *djangoname.SuspiciousFileOperation
		if !errors.As(err, &sfo) {
			return fmt.Errorf("got %q, %v; want %s %q", got, err, v.ExpectedError, v.Message)
		}
		if v.Message != "" && sfo.Msg != v.Message {
			return fmt.Errorf("message %q, want %q", sfo.Msg, v.Message)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("unexpected error %v", err)
	}
	if v.ExpectedPattern != "" {
		if !regexp.MustCompile(v.ExpectedPattern).MatchString(got) {
			return fmt.Errorf("got %q, want match of %s", got, v.ExpectedPattern)
		}
		return nil
	}
	want, jerr := expectString(v.Expected)
	if jerr != nil {
		return jerr
	}
	if want == nil || got != *want {
		return fmt.Errorf("got %q, want %v", got, v.Expected)
	}
	return nil
}

func multipartBody(disposition string) string {
	return "--BoUnDaRy\r\nContent-Disposition: " + disposition + "\r\nContent-Type: text/plain\r\n\r\nfile contents\r\n--BoUnDaRy--\r\n"
}

func filesOf(t *testing.T, disposition string) (map[string][]*upload.File, error) {
	form, err := upload.ReadForm(strings.NewReader(multipartBody(disposition)), "multipart/form-data; boundary=BoUnDaRy", limits.Default(), t.TempDir())
	if err != nil {
		return nil, err
	}
	defer form.RemoveAll()
	return form.File, nil
}

func quoteDjango(s string) string {
	// The vectors' bodies are built as Django's tests build them: the name
	// between quotes, verbatim.
	return `"` + s + `"`
}

func TestDjangoUploadFilenames(t *testing.T) {
	const file = "upload_filenames.json"
	var vf filenameVectors
	vectors.Load(t, file, &vf)
	dev := vectors.Deviations(t, file)
	n := 0
	for _, sec := range vf.Sections {
		for i, raw := range sec.Vectors {
			var v filenameVector
			derr := json.Unmarshal(raw, &v)
			if derr == nil {
				derr = unknownExpectation(raw)
			}
			id := sec.Name + "/" + strconv.Itoa(i)
			n++
			vectors.Check(t, file, id, dev, func() error {
				if derr != nil {
					return fmt.Errorf("harness cannot interpret vector: %v", derr)
				}
				return runFilenameVector(t, sec.Name, v)
			})
		}
	}
	vectors.Count(t, file, n)
}

// unknownExpectation reports an "expected..." field filenameVector does
// not declare.
func unknownExpectation(raw json.RawMessage) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	known := map[string]bool{}
	typ := reflect.TypeFor[filenameVector]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		known[name] = true
	}
	for k := range fields {
		if strings.HasPrefix(k, "expected") && !known[k] {
			return fmt.Errorf("unknown expectation %q", k)
		}
	}
	return nil
}

func runFilenameVector(t *testing.T, section string, v filenameVector) error {
	in := ""
	if v.Input != nil {
		in = *v.Input
	}
	switch section {
	case "multipart_sanitize":
		got, ok := upload.SanitizeFilename(in)
		want, err := expectString(v.Expected)
		if err != nil {
			return err
		}
		if want == nil {
			if ok {
				return fmt.Errorf("got %q, want the part dropped", got)
			}
			return nil
		}
		if !ok || got != *want {
			return fmt.Errorf("got %q (%v), want %q", got, ok, *want)
		}
		return nil
	case "multipart_end_to_end":
		disposition := v.ContentDisposition
		field := v.Field
		if disposition == "" {
			if v.ContentDispositionFilename == nil {
				return errors.New("vector has no filename")
			}
			disposition = "form-data; name=" + quoteDjango(field) + "; filename=" + quoteDjango(*v.ContentDispositionFilename)
		}
		files, err := filesOf(t, disposition)
		if err != nil {
			return err
		}
		want := map[string]*string{}
		if v.ExpectedFiles != nil {
			for k, s := range v.ExpectedFiles {
				want[k] = s // null: the field must be absent
			}
		} else {
			w, err := expectString(v.ExpectedName)
			if err != nil {
				return err
			}
			want[field] = w
		}
		for k, w := range want {
			got := files[k]
			if w == nil {
				if len(got) != 0 {
					return fmt.Errorf("field %q: got file %q, want none", k, got[0].Filename)
				}
				continue
			}
			if len(got) != 1 || got[0].Filename != *w {
				return fmt.Errorf("field %q: got %v, want %q", k, names(got), *w)
			}
			if v.ExpectedLength != 0 && len([]rune(got[0].Filename)) != v.ExpectedLength {
				return fmt.Errorf("length %d, want %d", len([]rune(got[0].Filename)), v.ExpectedLength)
			}
		}
		return nil
	case "uploadedfile_name":
		got, err := djangoname.UploadedFileName(in)
		return checkErr(v, got, err)
	case "get_valid_filename":
		got, err := djangoname.GetValidFilename(in)
		return checkErr(v, got, err)
	case "validate_file_name":
		got, err := djangoname.ValidateFileName(in, strings.Contains(v.Function, "allow_relative_path=True"))
		return checkErr(v, got, err)
	case "storage":
		return runStorageVector(v, in)
	}
	return fmt.Errorf("unknown section %q", section)
}

func names(fs []*upload.File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Filename)
	}
	return out
}

func runStorageVector(v filenameVector, in string) error {
	fn := v.Function
	switch {
	case strings.HasPrefix(fn, "validate_file_name"):
		got, err := djangoname.ValidateFileName(in, strings.Contains(fn, "allow_relative_path=True"))
		return checkErr(v, got, err)
	case fn == "storage.get_valid_name" || fn == "get_valid_filename":
		got, err := djangoname.GetValidFilename(in)
		return checkErr(v, got, err)
	case fn == "storage.generate_filename":
		got, err := djangoname.GenerateFilename(in)
		return checkErr(v, got, err)
	case strings.HasPrefix(fn, "storage.get_available_name"):
		existing := map[string]bool{}
		for _, f := range v.ExistingFiles {
			existing[f] = true
		}
		got, err := djangoname.GetAvailableName(in, v.MaxLength, strings.Contains(fn, "allow_overwrite=True"), func(s string) bool { return existing[s] })
		if err == nil && v.MaxLength > 0 && len([]rune(got)) > v.MaxLength {
			return fmt.Errorf("%q is longer than max_length %d", got, v.MaxLength)
		}
		return checkErr(v, got, err)
	case fn == "FileField.generate_filename":
		if v.UploadTo == nil {
			return errors.New("vector has no upload_to")
		}
		got, err := djangoname.FieldGenerateFilename(djangoname.UploadTo{Kind: v.UploadTo.Kind, Value: v.UploadTo.Value}, in)
		return checkErr(v, got, err)
	case strings.HasPrefix(fn, "FileSystemStorage.path"):
		_, err := djangoname.SafeJoin(v.Location, in)
		want, jerr := expectString(v.Expected)
		if jerr != nil || want == nil {
			return fmt.Errorf("bad expected %s", v.Expected)
		}
		switch *want {
		case "ok":
			return err
		case "SuspiciousFileOperation":
			var sfo *djangoname.SuspiciousFileOperation
			if !errors.As(err, &sfo) {
				return fmt.Errorf("got %v, want SuspiciousFileOperation", err)
			}
			return nil
		}
		return fmt.Errorf("bad expected %q", *want)
	}
	return fmt.Errorf("unknown function %q", fn)
}
