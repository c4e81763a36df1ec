package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// BenchmarkGatewayProxy measures a proxied GET through the whole chain over
// loopback HTTPS (client, gateway and upstream share the CPU).
func BenchmarkGatewayProxy(b *testing.B) {
	e := start(b, nil, func(c *gateway.Config) {
		c.Uploads.Paths = []string{"/upload/"}
	})
	// Keep the access log but send it nowhere, as a file would cost.
	_ = slog.LevelInfo
	c := e.newClient(false)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(e.https + "/echo")
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
}
