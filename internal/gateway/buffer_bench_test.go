package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// BenchmarkGatewayPostSmallBody measures a proxied POST of a 1 KiB form
// through the whole chain over loopback HTTPS, with the body buffered
// (the default) and streamed (insecure_stream_paths = ["/echo"]): the
// difference is what buffering costs a small body.
func BenchmarkGatewayPostSmallBody(b *testing.B) {
	body := "a=" + strings.Repeat("x", 1022)
	for _, bc := range []struct {
		name   string
		stream []string
	}{
		{"buffered", nil},
		{"streamed", []string{"/echo"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := start(b, nil, func(c *gateway.Config) {
				c.Buffering.InsecureStreamPaths = bc.stream
				c.Uploads.ExemptPaths = []string{"/echo"}
			})
			c := e.newClient(false)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", e.https+"/echo", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Sec-Fetch-Site", "same-origin")
					resp, err := c.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
		})
	}
}
