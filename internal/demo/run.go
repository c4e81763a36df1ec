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
	"strings"
	"syscall"
	"time"

	"github.com/bulwarkdev/bulwark/internal/gateway"
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
	// AccessLog logs every request through the gateway. False: only
	// refusals and lifecycle events are logged.
	AccessLog bool
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
	defer appLn.Close()
	info.AppURL = "http://" + appLn.Addr().String() + "/"

	app, err := NewApp(AppConfig{
		StateDir:    ca.Dir(),
		SiteHost:    hostPort(SiteHost, httpsPort, 443),
		MediaOrigin: info.MediaURL,
		HSTSMaxAge:  opt.HSTSMaxAge,
		AppAddr:     appLn.Addr().String(),
		Logger:      logger.With("component", "app"),
	})
	if err != nil {
		return err
	}
	defer app.Close()

	gw, err := gateway.New(gatewayConfig(opt, info, leaf, mediaDir, app.SessionCookie(), httpLn, httpsLn, httpsPort), logger.With("component", "gateway"))
	if err != nil {
		return err
	}

	appSrv := &http.Server{
		Handler:           app.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	appErr := make(chan error, 1)
	go func() { appErr <- appSrv.Serve(appLn) }()
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	swept := make(chan struct{})
	go func() { app.SweepSessions(sweepCtx, time.Hour); close(swept) }()
	defer func() { stopSweep(); <-swept }()

	gwCtx, stopGateway := context.WithCancel(ctx)
	defer stopGateway()
	gwErr := make(chan error, 1)
	go func() { gwErr <- gw.Serve(gwCtx, gateway.Listeners{HTTPS: httpsLn, HTTP: httpLn}) }()

	printBanner(out, info, ca.Created())
	if opt.Ready != nil {
		opt.Ready(info)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-appErr:
		runErr = fmt.Errorf("demo: app server: %w", err)
	case err := <-gwErr:
		gwErr <- err
		if err == nil {
			err = errors.New("stopped")
		}
		runErr = fmt.Errorf("demo: gateway: %w", err)
	}
	// Graceful shutdown: the gateway first (it stops accepting and drains
	// its requests, which may still need the app), then the app.
	stopGateway()
	if err := <-gwErr; err != nil && runErr == nil {
		runErr = err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := appSrv.Shutdown(shutdownCtx); err != nil && runErr == nil {
		runErr = fmt.Errorf("demo: app server: %w", err)
	}
	fmt.Fprintln(out, "Bulwark demo stopped.")
	return runErr
}

// gatewayConfig is the gateway's configuration for the demo: what a user
// would write in bulwark.toml to put the gateway in front of an app on
// 127.0.0.1, with the local CA's certificate.
func gatewayConfig(opt Options, info Info, leaf *localca.Leaf, mediaDir, sessionCookie string, httpLn, httpsLn net.Listener, httpsPort int) gateway.Config {
	var cfg gateway.Config
	cfg.Listen.HTTPS = httpsLn.Addr().String()
	cfg.Listen.HTTP = httpLn.Addr().String()
	cfg.Listen.Admin = gateway.Off
	cfg.AccessLog.Disabled = !opt.AccessLog
	// Ctrl-C should stop the demo promptly; requests still get a moment
	// to finish.
	cfg.Timeouts.Drain = 5 * time.Second
	cfg.TLS.CertFile, cfg.TLS.KeyFile = leaf.CertFile, leaf.KeyFile
	cfg.Upstream.URL = strings.TrimSuffix(info.AppURL, "/")
	cfg.Upstream.HealthPath = "/healthz"
	// The gateway is the edge: it trusts no proxy in front of it.
	cfg.Hosts.Allowed = []string{SiteHost}
	cfg.HTTPS.HSTSMaxAge = opt.HSTSMaxAge
	// Plain HTTP arrives on another port than HTTPS: the redirect names
	// the HTTPS port (443 drops it).
	cfg.HTTPS.RedirectPort = httpsPort
	// Headers at the edge, for every response of the site. The CSP comes
	// from the app (its nonce must match the page); every other header is
	// the edge's, and an app's own value for it is replaced.
	cfg.Headers.ReferrerPolicy = []string{"same-origin"}
	cfg.Headers.CrossOriginResourcePolicy = "same-origin"
	cfg.Headers.PermissionsPolicy = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
	// The app's session cookie gets HttpOnly at the edge even if the app
	// forgot it.
	cfg.Edge.Cookies.HTTPOnly = []string{sessionCookie}
	cfg.Limits = limitsConfig()
	// Uploads are inspected at the edge before the app sees a byte.
	cfg.Uploads.Paths = []string{"/upload"}
	// Uploaded files are served by the gateway from the media directory,
	// on the media host: another site than the app's.
	cfg.Media.Hosts = []string{MediaHost}
	cfg.Media.Dir = mediaDir
	return cfg
}

// hostPort renders host[:port], leaving out the default port.
func hostPort(host string, port, def int) string {
	if port == def {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
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
