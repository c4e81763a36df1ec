package inspect_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// A PNG that carries HTML in a text chunk passes image verification (it
// decodes as a picture) but a browser sniffing it may render the HTML.
// File refuses it.
func ExampleFile_polyglot() {
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(png, "tEXt", []byte("Comment\x00<html><script>alert(document.cookie)</script></html>"))

	v, err := inspect.File(bytes.NewReader(polyglot), "avatar.png", inspect.Policy{})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Allowed, v.Type, v.Reason)

	// The same image with the HTML after the end marker.
	v, _ = inspect.File(bytes.NewReader(append(png, "<script>alert(1)</script>"...)), "avatar.png", inspect.Policy{})
	fmt.Println(v.Allowed, v.Type, v.Reason)

	// And the clean image.
	v, _ = inspect.File(bytes.NewReader(png), "avatar.png", inspect.Policy{})
	fmt.Println(v.Allowed, v.Type, v.Ext)
	// Output:
	// false image/png polyglot_html
	// false image/png trailing_data
	// true image/png .png
}

// An SVG with an event handler is refused even when SVG is allowed.
func ExampleFile_svg() {
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><image href="x" onerror="alert(1)"/></svg>`
	v, _ := inspect.File(strings.NewReader(svg), "logo.svg", inspect.Policy{Allow: []string{"image/svg+xml"}})
	fmt.Println(v.Allowed, v.Reason)
	// Output:
	// false svg_script
}

// A PNG+HTML polyglot sent as a raw body (PUT /avatar with Content-Type:
// image/png), which an application would store from request.body, is
// refused like the same file in a form; a PNG declared as a GIF is
// refused for the disagreement; the clean PNG passes, with or without a
// declared type.
func ExampleBody() {
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(png, "tEXt", []byte("Comment\x00<html><script>alert(document.cookie)</script></html>"))
	for _, c := range []struct {
		ct   string
		body []byte
	}{
		{"image/png", polyglot},
		{"image/gif", png},
		{"image/png", png},
		{"application/octet-stream", png},
	} {
		v, err := inspect.Body(bytes.NewReader(c.body), c.ct, inspect.Policy{})
		if err != nil {
			panic(err)
		}
		if v.Allowed {
			fmt.Println(c.ct, "accepted as", v.Type)
		} else {
			fmt.Println(c.ct, "refused:", v.Reason)
		}
	}
	// Output:
	// image/png refused: polyglot_html
	// image/gif refused: type_mismatch
	// image/png accepted as image/png
	// application/octet-stream accepted as image/png
}
