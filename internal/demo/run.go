package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/bulwarkdev/bulwark/internal/localca"
)

// DefaultHSTSMaxAge is the demo's HSTS max-age. A browser applies HSTS to a
// host name on every port, so a long max-age on localhost would force
// HTTPS on every other development server the user runs on localhost for
// that long. Five minutes shows the header working and fades quickly.
// Scanners that grade HSTS (the MDN HTTP Observatory wants six months or
// more) are run with --hsts-max-age set explicitly.
const DefaultHSTSMaxAge = 5 * time.Minute

// Names the demo serves. The site and the media host must be different
// sites (different registrable domains), so that an uploaded file served
// from the media host can never read or set the site's cookies nor be
// same-site for CSRF purposes. "localhost" and "127.0.0.1" are two sites
// for browsers (an IP address is its own site, and host-only cookies set
// by localhost are not sent to 127.0.0.1), and both resolve without DNS in
// every browser, curl, Node and Go. *.localhost names would also do, but
// not every resolver maps them to loopback (Go's does not).
const (
	SiteHost  = "localhost"
	MediaHost = "127.0.0.1"
)

// Errors Run returns when a port cannot be bound.
var (
	ErrPortInUse  = errors.New("demo: port already in use")
	ErrPortDenied = errors.New("demo: not allowed to bind the port")
)

// Options configures Run.
type Options struct {
	// StateDir keeps the CA, certificates, the session database and the
	// uploads (created with mode 0700). Required.
	StateDir string
	// HTTPAddr and HTTPSAddr are the gateway's listeners ("localhost:8080",
	// "localhost:8443"; port 0 picks a free port). The host must be a
	// loopback name or address: the demo never listens beyond the machine.
	HTTPAddr, HTTPSAddr string
	// HSTSMaxAge is the Strict-Transport-Security max-age. Zero means
	// DefaultHSTSMaxAge.
	HSTSMaxAge time.Duration
	// Logger receives events. Nil means slog.Default().
	Logger *slog.Logger
	// Out receives the banner (URLs, CA, how to trust it). Nil discards it.
	Out io.Writer
	// Ready, if set, is called once every listener is up.
	Ready func(Info)
}

// Info describes a running demo.
type Info struct {
	// SiteURL is the HTTPS site ("https://localhost:8443/").
	SiteURL string
	// HTTPURL is the plain-HTTP listener that redirects to SiteURL.
	HTTPURL string
	// MediaURL is the media host's origin ("https://127.0.0.1:8443").
	MediaURL string
	// AppURL is the sample app's own loopback address, behind the gateway.
	AppURL string
	// CAFile is the CA certificate to trust; LeafFile and KeyFile are the
	// server certificate and key.
	CAFile, LeafFile, KeyFile string
	// CAFingerprint is the CA certificate's SHA-256 fingerprint.
	CAFingerprint string
	// User and Password sign in to the sample app.
	User, Password string
	// HSTSMaxAge is the max-age sent.
	HSTSMaxAge time.Duration
}

// Run starts the demo and blocks until ctx is done, then shuts everything
// down gracefully. It returns nil after a clean shutdown.
func Run(ctx context.Context, opt Options) error {
	if opt.StateDir == "" {
		return errors.New("demo: no state directory")
	}
	if opt.HSTSMaxAge == 0 {
		opt.HSTSMaxAge = DefaultHSTSMaxAge
	}
	if opt.HSTSMaxAge < 0 {
		return fmt.Errorf("demo: negative HSTS max-age %v", opt.HSTSMaxAge)
	}
	logger := opt.Logger
	if logger == nil {
		logger = slog.Default()
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	for _, a := range []string{opt.HTTPAddr, opt.HTTPSAddr} {
		if err := checkLoopback(a); err != nil {
			return err
		}
	}

	ca, err := localca.Open(opt.StateDir)
	if err != nil {
		return err
	}
	leaf, err := ca.Issue(SiteHost, MediaHost, "::1")
	if err != nil {
		return err
	}

	// The gateway's listeners are bound first: with port 0 their ports are
	// known only then, and the app needs the media origin for its links.
	httpsLn, err := listen(opt.HTTPSAddr)
	if err != nil {
		return err
	}
	defer httpsLn.Close()
	httpLn, err := listen(opt.HTTPAddr)
	if err != nil {
		return err
	}
	defer httpLn.Close()
	httpsPort := httpsLn.Addr().(*net.TCPAddr).Port
	httpPort := httpLn.Addr().(*net.TCPAddr).Port

	info := Info{
		SiteURL:       origin("https", SiteHost, httpsPort, 443) + "/",
		HTTPURL:       origin("http", SiteHost, httpPort, 80) + "/",
		MediaURL:      origin("https", MediaHost, httpsPort, 443),
		CAFile:        ca.CertFile(),
		LeafFile:      leaf.CertFile,
		KeyFile:       leaf.KeyFile,
		CAFingerprint: ca.Fingerprint(),
		User:          DemoUser,
		Password:      DemoPassword,
		HSTSMaxAge:    opt.HSTSMaxAge,
	}

	mediaDir := filepath.Join(ca.Dir(), "media")
	if err := os.MkdirAll(mediaDir, 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	appLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	info.AppURL = "http://" + appLn.Addr().String() + "/"

	_ = info
	_ = mediaDir
	_ = logger
	_ = out
	appLn.Close()
	return errors.New("demo: the gateway is not part of this build yet")
}

// listen binds a TCP listener, turning the common failures into errors
// that say what to do.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("%w: %s", ErrPortInUse, addr)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return nil, fmt.Errorf("%w: %s (ports below 1024 need root or CAP_NET_BIND_SERVICE)", ErrPortDenied, addr)
	default:
		return nil, fmt.Errorf("demo: %w", err)
	}
}

// checkLoopback refuses a listen address that is not on loopback.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("demo: listen address %q: %w", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("demo: listen address %q: bad port", addr)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("demo: listen address %q is not on loopback", addr)
}

// origin renders scheme://host[:port], leaving out the scheme's default
// port.
func origin(scheme, host string, port, def int) string {
	if port == def {
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

var _ = http.StatusOK
