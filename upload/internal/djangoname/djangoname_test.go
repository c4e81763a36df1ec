package djangoname

import (
	"regexp"
	"strings"
	"testing"
)

func TestGetAvailableNameMaxLength(t *testing.T) {
	taken := map[string]bool{"dir/averylongname.txt": true}
	got, err := GetAvailableName("dir/averylongname.txt", 24, false, func(s string) bool { return taken[s] })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) > 24 || !regexp.MustCompile(`^dir/ave[a-z]*_[A-Za-z0-9]{7}\.txt$`).MatchString(got) {
		t.Fatalf("got %q", got)
	}
	_, err = GetAvailableName("dir/abc.txt", 10, false, func(string) bool { return true })
	if err == nil || !strings.Contains(err.Error(), "Storage can not find an available filename") {
		t.Fatalf("err = %v", err)
	}
}

func TestUploadedFileName(t *testing.T) {
	for in, want := range map[string]string{
		strings.Repeat("f", 300) + ".txt": strings.Repeat("f", 251) + ".txt",
		"foo." + strings.Repeat("f", 300): "." + strings.Repeat("f", 254),
		"/tmp/x.txt":                      "x.txt",
		"." + strings.Repeat("f", 300):    "." + strings.Repeat("f", 254),
	} {
		if got, err := UploadedFileName(in); err != nil || got != want {
			t.Errorf("UploadedFileName(%.20q...) = %.20q..., %v", in, got, err)
		}
	}
}

// TestGetAvailableNameOverwrite: with allow_overwrite a taken name is
// kept, but max_length still applies, by cutting the root without a
// random suffix (Django's FileSystemStorage.is_name_available and
// get_alternative_name).
func TestGetAvailableNameOverwrite(t *testing.T) {
	taken := func(string) bool { return true }
	for _, tc := range []struct {
		name string
		max  int
		want string
		err  string
	}{
		{"dir/report.tar.gz", 0, "dir/report.tar.gz", ""},
		{"dir/report.tar.gz", 17, "dir/report.tar.gz", ""},
		{"dir/report.tar.gz", 15, "dir/repo.tar.gz", ""},
		{`dir\report.txt`, 0, "dir/report.txt", ""},
		{"dir/report.tar.gz", 11, "", `Storage can not find an available filename for "dir/report.tar.gz".`},
		{"../report.txt", 0, "", "Detected path traversal attempt in '..'"},
	} {
		got, err := GetAvailableName(tc.name, tc.max, true, taken)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("GetAvailableName(%q, %d) = %q, %v; want error %q", tc.name, tc.max, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("GetAvailableName(%q, %d) = %q, %v; want %q", tc.name, tc.max, got, err, tc.want)
		}
	}
}
