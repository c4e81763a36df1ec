package upload_test

import (
	"bytes"
	"fmt"

	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload"
)

// A PNG+HTML polyglot sent as a raw body (PUT /avatar with Content-Type:
// image/png), which an application would store from request.body, is
// refused like the same file in a form; a PNG declared as a GIF is
// refused for the disagreement; the clean PNG passes, with or without a
// declared type.
func ExampleInspectBody() {
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
		v, err := upload.InspectBody(bytes.NewReader(c.body), c.ct, upload.Policy{})
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
