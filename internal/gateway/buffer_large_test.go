package gateway_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
)

// TestGiBUploadBoundedHeap sends a 1 GiB body through the gateway, which
// spools it to a temporary file before the upstream sees a byte, and
// measures the process's heap while it does: the peak stays within 32 MiB
// of where it started, and the upstream receives every byte (its SHA-256
// is compared), and only after the client sent its last byte. Under the
// race detector (which makes 1 GiB minutes long) the body is 128 MiB, four
// times the heap bound, which still shows that it is not held in memory.
// Left out with -short.
func TestGiBUploadBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("1 GiB upload")
	}
	const size = largeBody
	var gotSum atomic.Value
	var gotLen atomic.Int64
	var upstreamStart atomic.Int64
	up := &upstream{}
	up.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			io.WriteString(w, "ok")
			return
		}
		upstreamStart.Store(time.Now().UnixNano())
		h := sha256.New()
		n, _ := io.Copy(h, r.Body)
		gotLen.Store(n)
		gotSum.Store(hex.EncodeToString(h.Sum(nil)))
		io.WriteString(w, "stored")
	}))
	t.Cleanup(up.Close)
	tmp := t.TempDir()
	e := start(t, up, func(c *gateway.Config) {
		c.Limits.MaxBodyBytes = 2 << 30
		c.Timeouts.Read = 5 * time.Minute
		c.Timeouts.Write = 5 * time.Minute
		c.Upstream.ResponseHeaderTimeout = 5 * time.Minute
		c.Edge.AllowInsecureNoCSRF = true
		c.Buffering.TempDir = tmp
		// A binary body is no file type [uploads] allows: upload
		// inspection is kept to its own path, the bufferer carries this.
		c.Uploads.Paths = []string{"/upload/"}
	})
	e.client.Timeout = 5 * time.Minute

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()

	src := &patternReader{left: size}
	sent := sha256.New()
	req, _ := http.NewRequest("PUT", e.https+"/big", io.TeeReader(src, sent))
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, body := e.do(req)
	close(stop)
	wg.Wait()
	if resp.StatusCode != 200 || body != "stored" {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	if gotLen.Load() != size || gotSum.Load() != hex.EncodeToString(sent.Sum(nil)) {
		t.Fatalf("upstream got %d bytes, sha %v; sent %d, %x", gotLen.Load(), gotSum.Load(), size, sent.Sum(nil))
	}
	if upstreamStart.Load() < src.eof.Load() {
		t.Errorf("the upstream was contacted before the client sent its last byte")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("spool left files: %v", ents)
	}
	grew := int64(peak.Load()) - int64(base)
	t.Logf("heap in use: %d MiB before, peak %d MiB (+%d MiB) for a %d MiB body", base>>20, peak.Load()>>20, grew>>20, size>>20)
	if grew > 32<<20 {
		t.Errorf("heap grew by %d MiB for a spooled %d MiB body, want at most 32 MiB", grew>>20, size>>20)
	}
}

// patternReader yields left bytes of a fixed pattern without holding
// them, and notes when it handed out its last byte (before the client
// could send it: the EOF that follows may be read later, after the
// gateway already has the whole body).
type patternReader struct {
	left int64
	eof  atomic.Int64
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		b[i] = byte(i*7 + int(p.left))
	}
	p.left -= int64(len(b))
	if p.left == 0 {
		p.eof.CompareAndSwap(0, time.Now().UnixNano())
	}
	return len(b), nil
}
