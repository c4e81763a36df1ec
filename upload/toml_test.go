package upload_test

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/upload"
)

func TestTOML(t *testing.T) {
	const doc = `
[uploads]
temp_dir = "/var/tmp"
forward = true
[uploads.policy]
allow = ["image/png", "image/svg+xml"]
max_pixels = 1000000
[uploads.storage]
dir = "/srv/media"
file_permissions = 0o640
directory_permissions = 0o750

[media]
hosts = ["example-usercontent.com"]
site_hosts = ["www.example.com"]
dir = "/srv/media"
cross_origin_resource_policy = "same-site"
`
	var c struct {
		Uploads upload.Config `toml:"uploads"`
		Media   media.Config  `toml:"media"`
	}
	md, err := toml.Decode(doc, &c)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	u := c.Uploads
	if u.TempDir != "/var/tmp" || !u.Forward || len(u.Policy.Allow) != 2 || u.Policy.MaxPixels != 1e6 ||
		u.Storage.Dir != "/srv/media" || u.Storage.FilePermissions != 0o640 || u.Storage.DirectoryPermissions != 0o750 {
		t.Fatalf("uploads %+v", u)
	}
	if m := c.Media; len(m.Hosts) != 1 || m.SiteHosts[0] != "www.example.com" || m.CrossOriginResourcePolicy != "same-site" {
		t.Fatalf("media %+v", m)
	}
}
