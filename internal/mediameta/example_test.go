package mediameta_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bulwarkdev/bulwark/internal/mediameta"
	"github.com/bulwarkdev/bulwark/internal/uploadcorpus"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Two files an application stored itself, both named .png: the real image
// is typed image/png (served inline), the PNG with HTML in a text chunk is
// opaque (served as an attachment, never rendered).
func ExampleLookup() {
	dir, _ := os.MkdirTemp("", "media")
	defer os.RemoveAll(dir)
	png := uploadcorpus.PNG()
	os.WriteFile(filepath.Join(dir, "cat.png"), png, 0o644)
	os.WriteFile(filepath.Join(dir, "trap.png"), uploadcorpus.PNGChunk(png, "tEXt", []byte("c\x00<script>alert(1)</script>")), 0o644)

	lk, err := mediameta.New(dir, inspect.Policy{})
	if err != nil {
		panic(err)
	}
	defer lk.Close()
	for _, name := range []string{"cat.png", "trap.png"} {
		m, _ := lk.Lookup(context.Background(), name)
		fmt.Println(name, m.Type)
	}
	// Output:
	// cat.png image/png
	// trap.png application/octet-stream
}
