package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/bulwarkdev/bulwark/internal/cluster"
)

// Challenge types of ACMEConfig.Challenges.
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// acmeManager obtains and renews certificates through certmagic, with its
// storage (account, certificates, issuance locks) on disk or in the
// cluster store.
type acmeManager struct {
	cfg    *certmagic.Config
	issuer *certmagic.ACMEIssuer
	cache  *certmagic.Cache
	hosts  []string
	policy func(context.Context, string) error
	cancel context.CancelFunc
	once   sync.Once
}

// newACME builds the manager; nothing is ordered before start.
func newACME(c ACMEConfig, store cluster.Store, owner string, logger *slog.Logger) (*acmeManager, error) {
	var storage certmagic.Storage
	if store != nil {
		storage = cluster.NewCertStorage(store, owner, logger)
	} else {
		if err := os.MkdirAll(c.CacheDir, 0o700); err != nil {
			return nil, fmt.Errorf("gateway: acme cache: %w", err)
		}
		storage = &certmagic.FileStorage{Path: c.CacheDir}
	}
	var roots *x509.CertPool
	if c.DirectoryCAFile != "" {
		pem, err := os.ReadFile(c.DirectoryCAFile)
		if err != nil {
			return nil, fmt.Errorf("gateway: tls.acme.directory_ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, invalid("tls.acme.directory_ca_file %q holds no PEM certificate", c.DirectoryCAFile)
		}
	}
	zl := zap.New(&slogCore{h: logger.Handler()})
	m := &acmeManager{hosts: c.Hosts, policy: HostPolicy(c.Hosts)}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.cfg, nil },
		Logger:           zl,
	})
	m.cfg = certmagic.New(m.cache, certmagic.Config{
		Storage: storage,
		Logger:  zl,
		// Let's Encrypt ended OCSP; stapling would only add requests to
		// responders the certificates may not name.
		OCSP: certmagic.OCSPConfig{DisableStapling: true},
	})
	ca := c.DirectoryURL
	if ca == "" {
		ca = certmagic.LetsEncryptProductionCA
	}
	m.issuer = certmagic.NewACMEIssuer(m.cfg, certmagic.ACMEIssuer{
		CA:     ca,
		TestCA: ca, // never fall back to another directory on failure
		Email:  c.Email,
		Agreed: true,
		// The gateway's own listeners answer the challenges (see
		// start), from any gateway of the fleet: challenge data is kept
		// in the storage.
		DisableHTTPChallenge:    !c.challenge(ChallengeHTTP01),
		DisableTLSALPNChallenge: !c.challenge(ChallengeTLSALPN01),
		TrustedRoots:            roots,
		Logger:                  zl,
	})
	m.cfg.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

// GetCertificate serves the managed certificates (and TLS-ALPN-01
// challenge certificates) for the configured names only.
func (m *acmeManager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if err := m.policy(hello.Context(), hello.ServerName); err != nil {
		return nil, err
	}
	return m.cfg.GetCertificate(hello)
}

// httpHandler answers HTTP-01 challenges, and passes the rest to next.
func (m *acmeManager) httpHandler(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// start points the challenge solvers at the bound listeners and begins
// obtaining (or loading from the storage) the certificates in the
// background. certmagic's solvers try to bind the challenge port
// themselves; given the address the gateway already holds, they find it
// taken and leave the answers to the gateway's handlers.
func (m *acmeManager) start(ln Listeners) {
	if ln.HTTP != nil {
		if host, port, err := net.SplitHostPort(ln.HTTP.Addr().String()); err == nil {
			m.issuer.ListenHost = host
			m.issuer.AltHTTPPort, _ = strconv.Atoi(port)
		}
	} else {
		m.issuer.DisableHTTPChallenge = true
	}
	if ln.HTTPS != nil {
		if host, port, err := net.SplitHostPort(ln.HTTPS.Addr().String()); err == nil {
			m.issuer.ListenHost = host
			m.issuer.AltTLSALPNPort, _ = strconv.Atoi(port)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	// ManageAsync returns at once; failures are logged and retried by
	// certmagic with backoff.
	m.cfg.ManageAsync(ctx, m.hosts)
}

// stop ends the background work.
func (m *acmeManager) stop() {
	m.once.Do(func() {
		if m.cancel != nil {
			m.cancel()
		}
		m.cache.Stop()
	})
}

// slogCore is a zapcore.Core writing to a slog handler: certmagic logs
// through zap, the gateway through slog. Events get "event": "acme".
type slogCore struct {
	h     slog.Handler
	attrs []slog.Attr
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), zapToSlog(l))
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h, attrs: append(append([]slog.Attr(nil), c.attrs...), fieldsToAttrs(fields)...)}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, zapToSlog(e.Level), e.Message, 0)
	r.AddAttrs(slog.String("event", "acme"))
	r.AddAttrs(c.attrs...)
	r.AddAttrs(fieldsToAttrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }

func zapToSlog(l zapcore.Level) slog.Level {
	switch {
	case l < zapcore.InfoLevel:
		return slog.LevelDebug
	case l == zapcore.InfoLevel:
		return slog.LevelInfo
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	}
	return slog.LevelError
}

func fieldsToAttrs(fields []zapcore.Field) []slog.Attr {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	attrs := make([]slog.Attr, 0, len(enc.Fields))
	for k, v := range enc.Fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	return attrs
}
