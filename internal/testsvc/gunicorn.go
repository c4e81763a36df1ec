package testsvc

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// GunicornPath is Debian's gunicorn (package gunicorn, with python3-django
// for the Django apps), used unless $BULWARK_GUNICORN names another.
const GunicornPath = "/usr/bin/gunicorn"

// DjangoApp says which Django project Gunicorn serves and how.
type DjangoApp struct {
	// Dir holds the project (it is gunicorn's --chdir and Python path).
	// Empty means this package's django/ folder, whose echoapp reports
	// what Django made of each request (see EchoApp).
	Dir string
	// Module is the WSGI application ("echoapp.wsgi:application" when
	// empty).
	Module string
	// Workers is the number of sync workers; 0 means 2, gunicorn's
	// usual small deployment and the one its docs say needs a buffering
	// proxy in front.
	Workers int
	// Env is added to the app's environment ("KEY=value").
	Env []string
	// Args are added to gunicorn's command line.
	Args []string
}

// Gunicorn is a running gunicorn, stopped when the test ends.
type Gunicorn struct {
	// Addr is the loopback host:port it listens on.
	Addr string
	// URL is "http://" + Addr.
	URL string

	cmd *exec.Cmd
	out *lockedBuffer
}

// Log returns what gunicorn and the app wrote so far (for failure messages).
func (g *Gunicorn) Log() string { return g.out.String() }

// Pid is the gunicorn master's process id.
func (g *Gunicorn) Pid() int { return g.cmd.Process.Pid }

// StartGunicorn starts gunicorn with app on a free loopback port and waits
// until it answers HTTP. A missing gunicorn or Django skips t, or fails it
// when BULWARK_REQUIRE_SERVICES is set.
func StartGunicorn(t testing.TB, app DjangoApp) *Gunicorn {
	t.Helper()
	bin := os.Getenv("BULWARK_GUNICORN")
	if bin == "" {
		bin = GunicornPath
	}
	if _, err := exec.LookPath(bin); err != nil {
		unavailable(t, "gunicorn ("+bin+"; apt-get install -y gunicorn python3-django)", err)
	}
	if app.Dir == "" {
		app.Dir = djangoDir()
	}
	if app.Module == "" {
		app.Module = "echoapp.wsgi:application"
	}
	if app.Workers == 0 {
		app.Workers = 2
	}
	addr := freeLoopbackAddr(t)
	args := []string{
		"--bind", addr,
		"--workers", strconv.Itoa(app.Workers),
		"--worker-class", "sync",
		"--chdir", app.Dir,
		"--pythonpath", app.Dir,
		"--timeout", "60",
		"--graceful-timeout", "1",
		"--error-logfile", "-",
		"--log-level", "warning",
	}
	args = append(args, app.Args...)
	args = append(args, app.Module)
	cmd := exec.Command(bin, args...)
	// Debian's python3 (gunicorn's interpreter) with nothing of another
	// Python installation's environment.
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1", "HOME=" + t.TempDir()}
	cmd.Env = append(cmd.Env, app.Env...)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		unavailable(t, "gunicorn", err)
	}
	g := &Gunicorn{Addr: addr, URL: "http://" + addr, cmd: cmd, out: out}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// The whole process group: the master and its workers.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-done:
			t.Fatalf("gunicorn exited before answering:\n%s", out.String())
		default:
		}
		res, err := client.Get(g.URL + "/_ready")
		if err == nil {
			res.Body.Close()
			return g
		}
		if time.Now().After(deadline) {
			t.Fatalf("gunicorn did not answer on %s within 30s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// djangoDir is this package's django/ folder.
func djangoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "django")
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port free right now.
func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// EchoReport is what the echo app answers: the request as Django saw it.
type EchoReport struct {
	Method        string                `json:"method"`
	Path          string                `json:"path"`
	PathInfo      string                `json:"path_info"`
	ScriptName    string                `json:"script_name"`
	Query         string                `json:"query"`
	Scheme        string                `json:"scheme"`
	IsSecure      bool                  `json:"is_secure"`
	RemoteAddr    string                `json:"remote_addr"`
	ServerPort    string                `json:"server_port"`
	ContentType   string                `json:"content_type"`
	ContentLength string                `json:"content_length"`
	Meta          map[string]string     `json:"meta"`
	Host          string                `json:"host"`
	Port          string                `json:"port"`
	AbsoluteURI   string                `json:"absolute_uri"`
	HostError     string                `json:"host_error"`
	Post          map[string][]string   `json:"post"`
	Files         map[string][]EchoFile `json:"files"`
	BodySize      *int                  `json:"body_size"`
	BodySHA256    string                `json:"body_sha256"`
}

// EchoFile is one file of request.FILES.
type EchoFile struct {
	Name        string `json:"name"`
	Size        int    `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// String summarises a report for failure messages.
func (r EchoReport) String() string {
	return fmt.Sprintf("%s %s (path_info %q, script_name %q) host=%q uri=%q files=%v meta=%v",
		r.Method, r.Path, r.PathInfo, r.ScriptName, r.Host, r.AbsoluteURI, r.Files, r.Meta)
}
