package upload_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

const chunkData = 1 << 20

var (
	idatOnce  sync.Once
	idatChunk []byte // one complete IDAT chunk (length, type, data, CRC)
)

// idat returns a 1 MiB IDAT chunk of pseudo-random bytes that hold no CR
// (so never the delimiter) and no "<" (so never markup).
func idat() []byte {
	idatOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		c := make([]byte, 8, 12+chunkData)
		binary.BigEndian.PutUint32(c, chunkData)
		copy(c[4:], "IDAT")
		for range chunkData {
			b := byte(rng.Uint32())
			if b == '\r' || b == '<' {
				b = 'x'
			}
			c = append(c, b)
		}
		idatChunk = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
	})
	return idatChunk
}

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// streamBody returns a multipart body holding one PNG file of about size
// bytes, generated as it is read: it is never held in memory.
func streamBody(size int64) (io.Reader, int64) {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], 1024)
	binary.BigEndian.PutUint32(ihdr[4:], 1024)
	ihdr[8], ihdr[9] = 8, 2
	prefix := []byte("--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n")
	prefix = append(prefix, pngChunk("IHDR", ihdr[:])...)
	suffix := append(pngChunk("IEND", nil), "\r\n--XyZ--\r\n"...)
	c := idat()
	n := max(1, size/int64(len(c)))
	rs := []io.Reader{bytes.NewReader(prefix)}
	for range n {
		rs = append(rs, bytes.NewReader(c))
	}
	rs = append(rs, bytes.NewReader(suffix))
	return io.MultiReader(rs...), int64(len(prefix)+len(suffix)) + n*int64(len(c))
}

func streamLimits() limits.Limits {
	l := limits.Default()
	l.MaxBodyBytes, l.MaxFileBytes = limits.Unlimited, limits.Unlimited
	return l
}

// peakHeap samples HeapAlloc while f runs and returns the peak above the
// level before it started.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// pipelines are the ways a multipart upload is read and validated.
var pipelines = []struct {
	name string
	run  func(tb testing.TB, body io.Reader)
}{
	{"Reader+Inspect", func(tb testing.TB, body io.Reader) {
		mr, err := upload.NewReader(body, ct, streamLimits())
		if err != nil {
			tb.Fatal(err)
		}
		p, err := mr.NextPart()
		if err != nil {
			tb.Fatal(err)
		}
		v, err := inspect.File(p, p.RawFilename, inspect.Policy{})
		if err != nil || !v.Allowed || v.Size < 1<<20 || (v.Size-8-25-12)%(chunkData+12) != 0 {
			// The file is the signature, IHDR, n whole IDAT chunks and IEND:
			// a short count would mean the inspector stopped early.
			tb.Fatalf("%+v %v", v, err)
		}
		if _, err := mr.NextPart(); err != io.EOF {
			tb.Fatal(err)
		}
	}},
	{"ReadForm+Inspect", func(tb testing.TB, body io.Reader) {
		form, err := upload.ReadForm(body, ct, streamLimits(), "")
		if err != nil {
			tb.Fatal(err)
		}
		defer form.RemoveAll()
		f := form.File["f"][0]
		rc, _ := f.Open()
		defer rc.Close()
		v, err := inspect.File(rc, f.Filename, inspect.Policy{})
		if err != nil || !v.Allowed {
			tb.Fatalf("%+v %v", v, err)
		}
	}},
	{"ParseMultipartForm+Inspect", func(tb testing.TB, body io.Reader) {
		r := httptest.NewRequest("POST", "/", body)
		r.Header.Set("Content-Type", ct)
		if err := r.ParseMultipartForm(limits.DefaultFileMemoryThreshold); err != nil {
			tb.Fatal(err)
		}
		defer r.MultipartForm.RemoveAll()
		fh := r.MultipartForm.File["f"][0]
		f, _ := fh.Open()
		defer f.Close()
		v, err := inspect.File(f, fh.Filename, inspect.Policy{})
		if err != nil || !v.Allowed {
			tb.Fatalf("%+v %v", v, err)
		}
	}},
	{"ParseMultipartForm", func(tb testing.TB, body io.Reader) {
		r := httptest.NewRequest("POST", "/", body)
		r.Header.Set("Content-Type", ct)
		if err := r.ParseMultipartForm(limits.DefaultFileMemoryThreshold); err != nil {
			tb.Fatal(err)
		}
		r.MultipartForm.RemoveAll()
	}},
}

func benchStream(b *testing.B, size int64) {
	for _, p := range pipelines {
		b.Run(p.name, func(b *testing.B) {
			_, n := streamBody(size)
			b.SetBytes(n)
			var peak uint64
			for b.Loop() {
				body, _ := streamBody(size)
				peak = max(peak, peakHeap(func() { p.run(b, body) }))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// BenchmarkStream1GiB streams a 1 GiB upload through each pipeline.
// Run: go test -run '^$' -bench Stream1GiB -benchtime 1x ./upload/
func BenchmarkStream1GiB(b *testing.B) { benchStream(b, 1<<30) }

// BenchmarkStream64MiB is the same at a size suited to quick runs.
func BenchmarkStream64MiB(b *testing.B) { benchStream(b, 64<<20) }

func BenchmarkStream256MiB(b *testing.B) { benchStream(b, 256<<20) }

// TestStreamMemory is the test-sized check of the benchmark's claim:
// streaming a large upload through the reader and the inspector keeps the
// heap far below the upload's size.
func TestStreamMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	body, n := streamBody(64 << 20)
	peak := peakHeap(func() { pipelines[0].run(t, body) })
	t.Logf("%d MiB streamed, peak heap %d KiB", n>>20, peak>>10)
	if peak > 32<<20 {
		t.Fatalf("peak heap %d bytes, want < 32 MiB", peak)
	}
}
