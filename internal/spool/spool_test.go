package spool_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/bulwarkdev/bulwark/internal/spool"
)

func TestBodyRoundTrip(t *testing.T) {
	const mem = 1 << 10
	for _, tc := range []struct {
		name   string
		size   int
		onFile bool
	}{
		{"empty", 0, false},
		{"small", 10, false},
		{"exactly the threshold", mem, false},
		{"one past the threshold", mem + 1, true},
		{"large", 300 << 10, true},
	} {
		for _, via := range []string{"ReadFrom", "Write", "OneByteReader"} {
			t.Run(tc.name+"/"+via, func(t *testing.T) {
				dir := t.TempDir()
				s := spool.New(dir, mem)
				want := bytes.Repeat([]byte("0123456789abcdef"), tc.size/16+1)[:tc.size]
				d := s.Get()
				var err error
				switch via {
				case "ReadFrom":
					_, err = d.ReadFrom(bytes.NewReader(want))
				case "OneByteReader":
					_, err = d.ReadFrom(iotest.OneByteReader(bytes.NewReader(want)))
				default:
					for i := 0; i < len(want); i += 700 {
						if _, err = d.Write(want[i:min(i+700, len(want))]); err != nil {
							break
						}
					}
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := d.Finish(); err != nil {
					t.Fatal(err)
				}
				if d.Len() != int64(tc.size) || d.OnFile() != tc.onFile {
					t.Errorf("Len %d OnFile %v, want %d %v", d.Len(), d.OnFile(), tc.size, tc.onFile)
				}
				// The spooled file has no name: nothing in dir, ever.
				if ents, _ := os.ReadDir(dir); len(ents) != 0 {
					t.Errorf("spool left names in its directory: %v", ents)
				}
				got, err := io.ReadAll(d)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("read back %d bytes (err %v), want %d", len(got), err, len(want))
				}
				if err := d.Rewind(); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if n, err := d.WriteTo(&out); err != nil || n != int64(tc.size) || !bytes.Equal(out.Bytes(), want) {
					t.Fatalf("WriteTo: %d %v", n, err)
				}
				d.Close()
				d.Close()
				if _, err := d.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
					t.Errorf("Read after Close: %v, want os.ErrClosed", err)
				}
			})
		}
	}
}

func TestReadFromKeepsReadError(t *testing.T) {
	s := spool.New(t.TempDir(), 16)
	d := s.Get()
	defer d.Close()
	boom := errors.New("boom")
	n, err := d.ReadFrom(io.MultiReader(bytes.NewReader(make([]byte, 40)), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) || n != 40 {
		t.Fatalf("ReadFrom = %d, %v; want 40, boom", n, err)
	}
}

// TestCloseDuringRead closes bodies while another goroutine reads them, as
// http.Transport does; with -race this shows that released memory is
// never read and that pooled chunks are not shared.
func TestCloseDuringRead(t *testing.T) {
	s := spool.New(t.TempDir(), 4<<10)
	want := bytes.Repeat([]byte{7}, 3<<10)
	sum := sha256.Sum256(want)
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		d := s.Get()
		d.Write(want)
		d.Finish()
		wg.Add(2)
		go func() {
			defer wg.Done()
			b, err := io.ReadAll(d)
			if err == nil && sha256.Sum256(b) != sum {
				t.Errorf("read foreign bytes")
			}
		}()
		go func() { defer wg.Done(); d.Close() }()
	}
	wg.Wait()
}

// TestSmallBodyAllocs pins the cost of spooling a small body: the Body
// itself, nothing per byte (the chunk is pooled).
func TestSmallBodyAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector (sync.Pool drops items)")
	}
	s := spool.New("", 0)
	src := bytes.NewReader(bytes.Repeat([]byte("x"), 2000))
	sink := make([]byte, 4096)
	n := testing.AllocsPerRun(200, func() {
		src.Seek(0, io.SeekStart)
		d := s.Get()
		d.ReadFrom(src)
		d.Finish()
		d.Read(sink)
		d.Close()
	})
	if n > 1 {
		t.Errorf("spooling a 2000-byte body: %v allocations, want at most 1", n)
	}
}

// TestSpoolFailureIsNotTheReaders: a spool that cannot make its file
// fails with ErrSpool, which tells it from the reader's own errors.
func TestSpoolFailureIsNotTheReaders(t *testing.T) {
	s := spool.New(t.TempDir()+"/missing", 16)
	d := s.Get()
	defer d.Close()
	if _, err := d.ReadFrom(bytes.NewReader(make([]byte, 100))); !errors.Is(err, spool.ErrSpool) {
		t.Fatalf("ReadFrom into an impossible file: %v, want ErrSpool", err)
	}
	d2 := s.Get()
	defer d2.Close()
	boom := errors.New("boom")
	if _, err := d2.ReadFrom(iotest.ErrReader(boom)); errors.Is(err, spool.ErrSpool) || !errors.Is(err, boom) {
		t.Fatalf("reader error reported as %v", err)
	}
}

var roundTripSeeds = []struct {
	data []byte
	mem  int
	step int
}{
	{nil, 0, 1},
	{[]byte("hello"), 4, 2},
	{bytes.Repeat([]byte{0}, 100), 100, 7},
	{bytes.Repeat([]byte("ab"), 300), 16, 33},
}

func TestRoundTripSeedsNotEmpty(t *testing.T) {
	if len(roundTripSeeds) == 0 {
		t.Fatal("empty seed corpus")
	}
}

// FuzzRoundTrip: whatever the bytes, the memory threshold and the size of
// the reads that deliver them, a Body reads back exactly what was
// written, as often as it is rewound, and reports its length.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range roundTripSeeds {
		f.Add(s.data, s.mem, s.step)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, mem, step int) {
		mem %= 1 << 12
		if step <= 0 || step > 1<<12 {
			step = 1 + len(data)%97
		}
		s := spool.New(dir, mem)
		d := s.Get()
		defer d.Close()
		if _, err := d.ReadFrom(&stepReader{data: data, step: step}); err != nil {
			t.Fatal(err)
		}
		if err := d.Finish(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			got, err := io.ReadAll(d)
			if err != nil || !bytes.Equal(got, data) || d.Len() != int64(len(data)) {
				t.Fatalf("round %d: read %d bytes (err %v, Len %d), wrote %d", i, len(got), err, d.Len(), len(data))
			}
			if err := d.Rewind(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// stepReader delivers data at most step bytes per read.
type stepReader struct {
	data []byte
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.data)
	r.data = r.data[n:]
	return n, nil
}
