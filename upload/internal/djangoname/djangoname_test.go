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
