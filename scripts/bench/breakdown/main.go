// Command breakdown reads the output of `go tool pprof -traces` for a CPU
// profile of the gateway under load (scripts/bench-gateway.sh with
// PROFILE=dir) and prints where the CPU went, by component: each sample
// is charged to the first component found walking its stack from the
// innermost frame outwards, so the components add up to the whole.
//
//	go tool pprof -traces dir/bulwark.bin dir/cpu.pprof | go run ./scripts/bench/breakdown
//
// With -frames, each component is followed by the frames that decided its
// samples, largest first.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// components, each with the frames (substrings of function names) that
// mark a sample as its. Walking from the leaf, the first frame matching
// any component decides, so allocation and collection are charged as
// such wherever they happen, and a syscall to the component that made it.
var components = []struct {
	name   string
	frames []string
}{
	{"garbage collection", []string{"runtime.gcBgMarkWorker", "runtime.bgsweep", "runtime.gcAssistAlloc", "runtime.bgscavenge", "runtime.gcStart", "runtime.markroot"}},
	{"allocation", []string{"runtime.mallocgc", "runtime.newobject", "runtime.makeslice", "runtime.growslice", "runtime.makemap", "runtime.makechan"}},
	{"access log", []string{"accessLog).write", "appendAccessLine", "bufferedFile", "newBufferedFile", "log/slog."}},
	{"metrics", []string{"(*metrics)", "prometheus"}},
	{"client TLS write (encrypt, send)", []string{"crypto/tls.(*Conn).Write", "crypto/tls.(*Conn).writeRecord"}},
	{"client TLS read (receive, decrypt)", []string{"crypto/tls.(*Conn).Read", "crypto/tls.(*Conn).readRecord", "framedConn).Read"}},
	{"TLS handshakes", []string{"crypto/tls.(*Conn).Handshake", "crypto/tls.(*Conn).serverHandshake", "tlsListener"}},
	{"server: background read and abort", []string{"connReader).backgroundRead", "connReader).abortPendingRead", "connReader).startBackgroundRead"}},
	{"server: HTTP/1 request parsing", []string{"net/http.(*conn).readRequest", "net/http.readRequest"}},
	{"server: response header and flush", []string{"net/http.(*response).finishRequest", "net/http.(*chunkWriter)", "net/http.(*response).WriteHeader"}},
	{"upstream: request write", []string{"net/http.(*persistConn).writeLoop", "net/http.(*Request).write", "gateway.writeRequestHead", "directTransport).roundTrip", "earlyAnswerConn).Write"}},
	{"upstream: answer read", []string{"net/http.(*persistConn).readLoop", "net/http.ReadResponse", "directBody", "directConn).Read", "earlyAnswerConn).Read"}},
	{"upstream: connection pool and hand-offs", []string{"net/http.(*Transport)", "net/http.(*persistConn)", "directTransport"}},
	{"ReverseProxy (copy, headers, checks)", []string{"net/http/httputil."}},
	{"library chain and edge layers", []string{"github.com/bulwarkdev/bulwark"}},
	{"server: connection loop", []string{"net/http.(*conn).serve"}},
	{"scheduler and netpoll", []string{"runtime.schedule", "runtime.findRunnable", "runtime.mcall", "runtime.park_m", "runtime.netpoll", "runtime.goexit0", "runtime.gopark", "runtime.ready", "runtime.wakep", "runtime.startm", "runtime.stopm", "runtime.sysmon", "runtime.exitsyscall", "runtime.entersyscall"}},
}

func main() {
	frames := flag.Bool("frames", false, "list the deciding frames of each component")
	flag.Parse()
	total := time.Duration(0)
	by := map[string]time.Duration{}
	byFrame := map[string]map[string]time.Duration{}
	var cur time.Duration
	var stack []string
	flush := func() {
		if cur == 0 {
			return
		}
		name, frame := "other", ""
		if len(stack) > 0 {
			frame = stack[0]
		}
	walk:
		for _, f := range stack {
			for _, c := range components {
				for _, m := range c.frames {
					if strings.Contains(f, m) {
						name, frame = c.name, f
						break walk
					}
				}
			}
		}
		by[name] += cur
		if byFrame[name] == nil {
			byFrame[name] = map[string]time.Duration{}
		}
		byFrame[name][frame] += cur
		total += cur
		cur, stack = 0, stack[:0]
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		// A sample's first line: "     10ms   runtime.futex".
		if d, err := parseDuration(fields[0]); err == nil && len(fields) >= 2 && !strings.Contains(line, ":") {
			flush()
			cur = d
			stack = append(stack, fields[1])
			continue
		}
		if cur != 0 {
			stack = append(stack, fields[0])
		}
	}
	flush()
	type row struct {
		name string
		d    time.Duration
	}
	var rows []row
	for n, d := range by {
		rows = append(rows, row{n, d})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	fmt.Printf("| component | CPU share |\n|---|---:|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %.1f%% |\n", r.name, 100*float64(r.d)/float64(total))
		if !*frames {
			continue
		}
		var fr []row
		for f, d := range byFrame[r.name] {
			fr = append(fr, row{f, d})
		}
		sort.Slice(fr, func(i, j int) bool { return fr[i].d > fr[j].d })
		for i, f := range fr {
			if i == 8 {
				break
			}
			fmt.Printf("|   %s | %.1f%% |\n", f.name, 100*float64(f.d)/float64(total))
		}
	}
	fmt.Printf("| total sampled | %s |\n", total)
}

// parseDuration reads pprof's sample values ("10ms", "1.20s", "500us").
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(v), nil
	}
	return 0, fmt.Errorf("not a duration: %q", s)
}
