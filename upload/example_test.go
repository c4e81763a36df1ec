package upload_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload"
)

// A PNG that carries HTML in a text chunk passes image verification (it
// decodes as a picture) but a browser sniffing it may render the HTML.
// Inspect refuses it.
func ExampleInspect_polyglot() {
	png := uploadcorpus.PNG()
	polyglot := uploadcorpus.PNGChunk(png, "tEXt", []byte("Comment\x00<html><script>alert(document.cookie)</script></html>"))

	v, err := upload.Inspect(bytes.NewReader(polyglot), "avatar.png", upload.Policy{})
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Allowed, v.Type, v.Reason)

	// The same image with the HTML after the end marker.
	v, _ = upload.Inspect(bytes.NewReader(append(png, "<script>alert(1)</script>"...)), "avatar.png", upload.Policy{})
	fmt.Println(v.Allowed, v.Type, v.Reason)

	// And the clean image.
	v, _ = upload.Inspect(bytes.NewReader(png), "avatar.png", upload.Policy{})
	fmt.Println(v.Allowed, v.Type, v.Ext)
	// Output:
	// false image/png polyglot_html
	// false image/png trailing_data
	// true image/png .png
}

// Client filenames are reduced to a display label, never used as paths.
func ExampleDisplayName() {
	for _, name := range []string{"../../etc/passwd", `C:\Windows\win.ini`, "..&#x2F;..&#x2F;.bashrc", "cat\u202egnp.exe", "/tmp/"} {
		label, ok := upload.DisplayName(name)
		fmt.Printf("%q %q %v\n", name, label, ok)
	}
	// Output:
	// "../../etc/passwd" "passwd" true
	// "C:\\Windows\\win.ini" "win.ini" true
	// "..&#x2F;..&#x2F;.bashrc" ".bashrc" true
	// "cat\u202egnp.exe" "catgnp.exe" true
	// "/tmp/" "" false
}

// An SVG with an event handler is refused even when SVG is allowed.
func ExampleInspect_svg() {
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><image href="x" onerror="alert(1)"/></svg>`
	v, _ := upload.Inspect(strings.NewReader(svg), "logo.svg", upload.Policy{Allow: []string{"image/svg+xml"}})
	fmt.Println(v.Allowed, v.Reason)
	// Output:
	// false svg_script
}
