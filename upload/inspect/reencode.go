package inspect

import (
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
)

// ErrCannotReencode is returned by Reencode for types it does not write.
var ErrCannotReencode = errors.New("inspect: cannot re-encode this type")

// Reencode decodes a PNG, JPEG or GIF image from src and writes it anew
// to dst with the standard library's encoders: whatever the file carried
// besides pixels (text chunks, comments, trailing data, appended archives)
// is gone. Pass src to File first: decoding an image allocates in proportion to
// its declared pixels, which File caps. Animated GIFs keep only their
// first frame.
func Reencode(dst io.Writer, src io.Reader, mimeType string) error {
	var (
		img image.Image
		err error
	)
	switch mimeType {
	case "image/png":
		if img, err = png.Decode(src); err == nil {
			return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(dst, img)
		}
	case "image/jpeg":
		if img, err = jpeg.Decode(src); err == nil {
			return jpeg.Encode(dst, img, &jpeg.Options{Quality: 90})
		}
	case "image/gif":
		if img, err = gif.Decode(src); err == nil {
			return gif.Encode(dst, img, nil)
		}
	default:
		return ErrCannotReencode
	}
	return err
}
