package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkdev/bulwark/internal/cluster"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bulwarkdev/bulwark/ratelimit"
)

// Gateway is the server: the HTTPS, HTTP and admin listeners in front of
// one upstream, with the handler tree of the current configuration.
type Gateway struct {
	logger  *slog.Logger // the gateway's own events
	events  *slog.Logger // protections' events, counted as refusals
	access  *accessLog   // access log
	metrics *metrics
	buffers *bufferPool

	getCert   func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	fileCerts *fileCerts
	acme      *acmeManager
	closeLog  io.Closer

	cluster      cluster.Store // nil without [cluster]
	owner        string        // this process in the store's leases
	ticketSecret []byte        // nil: ticket keys are not shared

	mu      sync.Mutex // serialises Reload and the start and end of Serve
	serving bool       // under mu
	tree    atomic.Pointer[tree]

	addrMu sync.Mutex
	addrs  Addrs

	rateMu    sync.Mutex
	rateStore ratelimit.Store // under rateMu; see rateLimitStore
	rateStop  chan struct{}   // under rateMu; ends the PostgreSQL sweeper
	// httpsPort is the bound port of the HTTPS listener (0 before Serve):
	// the redirect's target when the configuration names no port (a
	// listener on port 0).
	httpsPort atomic.Int32
}

// Listeners are the sockets Serve accepts on. A nil listener is not served.
type Listeners struct {
	HTTPS net.Listener
	HTTP  net.Listener
	Admin net.Listener
}

// Addrs are the bound addresses (nil when a listener is not served).
type Addrs struct {
	HTTPS net.Addr
	HTTP  net.Addr
	Admin net.Addr
}

// New validates cfg and builds the gateway; it binds nothing (see Listen,
// Serve and Run). A nil logger means slog.Default().
func New(cfg Config, logger *slog.Logger) (*Gateway, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	m := newMetrics()
	g := &Gateway{
		logger:  logger,
		events:  slog.New(&countingHandler{next: logger.Handler(), m: m}),
		metrics: m,
		buffers: newBufferPool(),
	}
	g.access = &accessLog{logger: logger}
	if p := cfg.AccessLog.Path; p != "" {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("gateway: access log: %w", err)
		}
		bf := newBufferedFile(f)
		g.closeLog = bf
		g.access = &accessLog{file: bf}
	}
	if cfg.Cluster.Enabled() {
		secret, err := cfg.Cluster.ticketSecret()
		if err != nil {
			g.Close()
			return nil, err
		}
		store, err := openCluster(cfg.Cluster)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.cluster, g.owner, g.ticketSecret = store, cluster.NewOwner(), secret
	}
	switch {
	case cfg.TLS.GetCertificate != nil:
		g.getCert = cfg.TLS.GetCertificate
	case cfg.TLS.ACME.Enabled:
		m, err := newACME(cfg.TLS.ACME, g.cluster, g.owner, logger)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.acme = m
		g.getCert = m.GetCertificate
	default:
		fc, err := newFileCerts(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			g.Close()
			return nil, err
		}
		g.fileCerts = fc
		g.getCert = fc.GetCertificate
	}
	t, err := g.buildTree(cfg)
	if err != nil {
		g.Close()
		return nil, err
	}
	g.tree.Store(t)
	return g, nil
}

// Close releases what New opened (the ACME cache connection, the access
// log file). Serve and Run call it when they return.
func (g *Gateway) Close() {
	if g.acme != nil {
		g.acme.stop()
	}
	if g.closeLog != nil {
		g.closeLog.Close()
		g.closeLog = nil
	}
	g.stopRateLimits()
	if g.cluster != nil {
		g.cluster.Close()
		g.cluster = nil
	}
}

// Config returns the effective configuration in use (defaults applied).
func (g *Gateway) Config() Config { return g.tree.Load().cfg }

// ServeHTTP serves a request as the HTTPS listener does, with the current
// tree (for embedding the gateway in another server, and for tests).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.tree.Load().https.ServeHTTP(w, r)
}

type httpListenerHandler struct{ g *Gateway }

func (h httpListenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.g.tree.Load().http.ServeHTTP(w, r)
}

// AdminHandler serves /metrics (Prometheus) and /healthz (200 "ok" when the
// last upstream health check passed, else 503), and Go's runtime profiles
// under /debug/pprof/ when [listen] admin_profiling is set.
func (g *Gateway) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if g.tree.Load().health.healthy() {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "upstream down\n")
	})
	if g.Config().Listen.AdminProfiling {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Listen binds the configured addresses.
func (g *Gateway) Listen() (Listeners, error) {
	cfg := g.Config()
	var ln Listeners
	var err error
	closeAll := func() {
		for _, l := range []net.Listener{ln.HTTPS, ln.HTTP, ln.Admin} {
			if l != nil {
				l.Close()
			}
		}
	}
	if ln.HTTPS, err = net.Listen("tcp", cfg.Listen.HTTPS); err != nil {
		return Listeners{}, fmt.Errorf("gateway: %w", err)
	}
	if cfg.Listen.HTTP != Off {
		if ln.HTTP, err = net.Listen("tcp", cfg.Listen.HTTP); err != nil {
			closeAll()
			return Listeners{}, fmt.Errorf("gateway: %w", err)
		}
	}
	if cfg.Listen.Admin != Off {
		if ln.Admin, err = net.Listen("tcp", cfg.Listen.Admin); err != nil {
			closeAll()
			return Listeners{}, fmt.Errorf("gateway: %w", err)
		}
	}
	g.setAddrs(ln)
	return ln, nil
}

func (g *Gateway) setAddrs(ln Listeners) {
	var a Addrs
	if ln.HTTPS != nil {
		a.HTTPS = ln.HTTPS.Addr()
	}
	if ln.HTTP != nil {
		a.HTTP = ln.HTTP.Addr()
	}
	if ln.Admin != nil {
		a.Admin = ln.Admin.Addr()
	}
	g.addrMu.Lock()
	g.addrs = a
	g.addrMu.Unlock()
}

// Addrs returns the addresses bound by Listen, or given to Serve.
func (g *Gateway) Addrs() Addrs {
	g.addrMu.Lock()
	defer g.addrMu.Unlock()
	return g.addrs
}

// Run binds the configured addresses and serves until ctx is done.
func (g *Gateway) Run(ctx context.Context) error {
	ln, err := g.Listen()
	if err != nil {
		g.Close()
		return err
	}
	return g.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx is done, then shuts down
// gracefully: listeners close at once (new connections are refused),
// in-flight requests get Timeouts.Drain to finish, then the remaining
// connections are closed. It returns nil after a shutdown caused by ctx,
// or the first server error. It closes the listeners and the gateway.
func (g *Gateway) Serve(ctx context.Context, ln Listeners) error {
	defer g.Close()
	g.setAddrs(ln)
	cfg := g.Config()
	errLog := slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug) // TLS handshake noise
	newServer := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler:           h,
			ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
			ReadTimeout:       cfg.Timeouts.Read,
			WriteTimeout:      cfg.Timeouts.Write,
			IdleTimeout:       cfg.Timeouts.Idle,
			MaxHeaderBytes:    cfg.Timeouts.MaxHeaderBytes,
			ErrorLog:          errLog,
		}
	}
	var servers []*http.Server
	errc := make(chan error, 3)
	g.mu.Lock() // Reload hands health checking over only while serving
	if err := g.bindRedirectPort(ln.HTTPS); err != nil {
		g.mu.Unlock()
		return err
	}
	g.serving = true
	g.tree.Load().health.start(nil)
	g.mu.Unlock()
	stopTickets := func() {}
	if g.acme != nil {
		g.acme.start(ln)
	}
	if ln.HTTPS != nil {
		s := newServer(connHandler(g, g.lazyReadAhead))
		s.TLSConfig = serverTLS(g.getCert, g.acme != nil)
		s.ConnContext = connContext
		// The tls.Config lives as long as Serve (a reload swaps handler
		// trees, not the listener's TLS state), so its ticket keys survive
		// a SIGHUP and sessions keep resuming across it. The listener
		// uses it as it is (ServeTLS would serve a clone, which the
		// rotation would not reach).
		stopTickets = g.startTickets(s.TLSConfig, cfg.TLS.SessionTicketRotation)
		servers = append(servers, s)
		// The handshake is made by the listener, which hands net/http
		// HTTP/1 connections as framedConns (see framing.go).
		tl := newTLSListener(ln.HTTPS, s.TLSConfig, cfg.Timeouts.ReadHeader, errLog)
		go func() { errc <- s.Serve(tl) }()
	}
	if ln.HTTP != nil {
		s := newServer(connHandler(httpListenerHandler{g}, nil))
		s.ConnContext = connContext
		servers = append(servers, s)
		go func() { errc <- s.Serve(plainListener{ln.HTTP}) }()
	}
	if ln.Admin != nil {
		s := newServer(g.AdminHandler())
		servers = append(servers, s)
		go func() { errc <- s.Serve(ln.Admin) }()
	}
	g.logger.LogAttrs(ctx, slog.LevelInfo, "gateway started", slog.String("event", "server_start"),
		slog.Any("https", g.Addrs().HTTPS), slog.Any("http", g.Addrs().HTTP), slog.Any("admin", g.Addrs().Admin))

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	drain, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Drain)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Shutdown(drain); err != nil {
				s.Close() // drain timeout: cut what is left
			}
		}()
	}
	wg.Wait()
	stopTickets()
	g.mu.Lock()
	g.serving = false
	t := g.tree.Load()
	t.health.stop()
	t.closeIdle()
	t.close()
	g.mu.Unlock()
	g.logger.LogAttrs(context.Background(), slog.LevelInfo, "gateway stopped", slog.String("event", "server_stop"))
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("gateway: %w", serveErr)
	}
	return nil
}

// bindRedirectPort points the HTTP redirect at the bound HTTPS listener
// when the configuration left the port to the system (listen.https on
// port 0, no https.redirect_port): the tree built by New did not know it.
// Called with g.mu held, before serving.
func (g *Gateway) bindRedirectPort(l net.Listener) error {
	if l == nil {
		return nil
	}
	a, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return nil
	}
	g.httpsPort.Store(int32(a.Port))
	old := g.tree.Load()
	if old.cfg.HTTPS.RedirectPort != 0 || old.cfg.proxyTerminatesTLS() {
		return nil
	}
	t, err := g.buildTree(old.cfg)
	if err != nil {
		return err
	}
	g.tree.Store(t)
	old.closeIdle()
	old.close()
	return nil
}

// ErrRestartRequired is returned by Reload when the new configuration
// changes what only a restart can change: listener addresses, timeouts,
// the certificate source, the session ticket rotation, the access log file.
var ErrRestartRequired = errors.New("gateway: change needs a restart")

// Reload builds a new handler tree from cfg and swaps it in atomically:
// requests in flight finish in the tree they started in; new requests use
// the new one. Certificate files are read again. On any error the current
// tree and certificate stay in use, the error is logged
// (config_reload_failed) and returned.
func (g *Gateway) Reload(cfg Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.reload(cfg)
	if err != nil {
		g.metrics.reloads.WithLabelValues("failed").Inc()
		g.logger.LogAttrs(context.Background(), slog.LevelError, "configuration reload failed",
			slog.String("event", "config_reload_failed"), slog.String("reason", err.Error()))
		return err
	}
	g.metrics.reloads.WithLabelValues("ok").Inc()
	g.logger.LogAttrs(context.Background(), slog.LevelInfo, "configuration reloaded", slog.String("event", "config_reloaded"))
	return nil
}

func (g *Gateway) reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.WithDefaults()
	old := g.tree.Load()
	if err := restartOnly(old.cfg, cfg); err != nil {
		return err
	}
	if g.fileCerts != nil {
		if err := g.fileCerts.reload(); err != nil {
			return err
		}
	}
	t, err := g.buildTree(cfg)
	if err != nil {
		return err
	}
	if g.serving { // hand over health checking
		t.health.start(old.health)
	}
	g.tree.Store(t)
	old.health.stop()
	old.closeIdle()
	closeLater(old.closers, cfg.Timeouts.Drain)
	return nil
}

// restartOnly reports a change to a setting a running gateway can't apply.
func restartOnly(a, b Config) error {
	switch {
	case a.Listen != b.Listen:
		return fmt.Errorf("%w: [listen] changed", ErrRestartRequired)
	case a.Timeouts != b.Timeouts:
		return fmt.Errorf("%w: [timeouts] changed", ErrRestartRequired)
	case a.TLS.CertFile != b.TLS.CertFile || a.TLS.KeyFile != b.TLS.KeyFile || !reflect.DeepEqual(a.TLS.ACME, b.TLS.ACME),
		a.TLS.SessionTicketRotation != b.TLS.SessionTicketRotation:
		return fmt.Errorf("%w: [tls] changed", ErrRestartRequired)
	case a.AccessLog.Path != b.AccessLog.Path:
		return fmt.Errorf("%w: access_log.path changed", ErrRestartRequired)
	case a.Cluster != b.Cluster:
		return fmt.Errorf("%w: [cluster] changed", ErrRestartRequired)
	case a.Runtime != b.Runtime:
		return fmt.Errorf("%w: [runtime] changed", ErrRestartRequired)
	}
	return nil
}

// startTickets installs session ticket keys in conf and keeps them
// rotating: shared through the cluster store when a ticket key secret is
// configured, else in this process only. The returned function stops the
// rotation.
func (g *Gateway) startTickets(conf *tls.Config, every time.Duration) (stop func()) {
	keys := newTicketKeys(conf) // local keys until the store answers
	if g.cluster == nil || g.ticketSecret == nil {
		return keys.start(every)
	}
	st := &sharedTickets{keys: keys, store: g.cluster, secret: g.ticketSecret, owner: g.owner,
		every: every, log: g.logger, now: time.Now,
		okCount:   g.metrics.ticketSync.WithLabelValues("ok"),
		failCount: g.metrics.ticketSync.WithLabelValues("failed")}
	return st.start()
}
