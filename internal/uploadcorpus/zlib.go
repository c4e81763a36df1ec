package uploadcorpus

import (
	"bytes"
	"compress/zlib"
)

func zlibBytes(s string) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}
