package media_test

import (
	"fmt"
	"os"

	"github.com/bulwarkdev/bulwark/media"
)

// Serving user content from a subdomain of the site is refused at
// configuration time: it is the same site, so the site's cookies reach it.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "media")
	defer os.RemoveAll(dir)
	_, err := media.New(media.Config{
		Hosts:     []string{"media.example.com"},
		SiteHosts: []string{"www.example.com"},
		Dir:       dir,
	})
	fmt.Println(err != nil)

	h, err := media.New(media.Config{
		Hosts:     []string{"example-usercontent.com"},
		SiteHosts: []string{"www.example.com"},
		Dir:       dir,
	})
	fmt.Println(err)
	h.Close()
	// Output:
	// true
	// <nil>
}
