package demo

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/session/sqlitestore"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/bulwarkdev/bulwark/upload"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplate = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// AppConfig configures the sample app.
type AppConfig struct {
	// StateDir holds the session database (sessions.db) and the accepted
	// uploads (media/). Required.
	StateDir string
	// SiteHost is the host (with port, as clients send it) the app is
	// reached at through the gateway, for its own host validation.
	// Required.
	SiteHost string
	// MediaOrigin is the origin the media host serves uploads from
	// ("https://127.0.0.1:8443"). Required.
	MediaOrigin string
	// Gateway is the address the gateway connects from, the only peer
	// whose X-Forwarded-Proto the app believes. Empty means "127.0.0.1".
	// Every local process shares that address, so on a shared machine any
	// local user could claim https to the app directly; the demo accepts
	// that (it holds nothing of value), a deployment puts the app where
	// only the gateway can reach it.
	Gateway string
	// HSTSMaxAge is shown on the page (the gateway sends the header).
	HSTSMaxAge time.Duration
	// AppAddr is shown on the page.
	AppAddr string
	// Logger receives events. Nil means slog.Default().
	Logger *slog.Logger
}

// App is the sample app: plain net/http and html/template, with the
// Bulwark layers an app keeps for itself.
type App struct {
	cfg      AppConfig
	logger   *slog.Logger
	media    *mediaStore
	uploader *upload.Uploader
	book     guestbook
	handler  http.Handler
	closers  []func() error

	sessionCookie string
	store         *sqlitestore.Store
}

// SweepSessions deletes expired sessions from the store every interval
// until ctx is done (housekeeping: expired records are never returned
// either way).
func (a *App) SweepSessions(ctx context.Context, interval time.Duration) {
	_ = session.Sweep(ctx, a.store, interval, a.logger)
}

// SessionCookie returns the name of the app's session cookie.
func (a *App) SessionCookie() string { return a.sessionCookie }

// cspPolicy is the app's Content-Security-Policy. It lives in the app, not
// at the edge, because its nonce must match the page the app renders.
// default-src 'none' allows nothing that is not listed; the one inline
// <style> carries the nonce; images come from the app's own origin and the
// media origin only; forms post to the app only; no page may frame it;
// <base> cannot be used to re-point relative URLs.
func cspPolicy(mediaOrigin string) headers.Policy {
	return headers.Policy{
		{Name: "default-src", Values: []string{"'none'"}},
		{Name: "style-src", Values: []string{headers.NonceSentinel}},
		{Name: "img-src", Values: []string{"'self'", mediaOrigin}},
		{Name: "form-action", Values: []string{"'self'"}},
		{Name: "frame-ancestors", Values: []string{"'none'"}},
		{Name: "base-uri", Values: []string{"'none'"}},
	}
}

// NewApp builds the app.
func NewApp(cfg AppConfig) (*App, error) {
	if cfg.StateDir == "" || cfg.SiteHost == "" || cfg.MediaOrigin == "" {
		return nil, errors.New("demo: StateDir, SiteHost and MediaOrigin are required")
	}
	if cfg.Gateway == "" {
		cfg.Gateway = "127.0.0.1"
	}
	a := &App{cfg: cfg, logger: cfg.Logger}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()

	media, err := openMediaStore(filepath.Join(cfg.StateDir, "media"), cfg.MediaOrigin)
	if err != nil {
		return nil, err
	}
	a.media = media
	a.closers = append(a.closers, media.Close)

	// The gateway is the app's only trusted proxy: the scheme it forwards
	// is believed from it (Django's SECURE_PROXY_SSL_HEADER), and from
	// nobody else. The host needs no forwarded header: the gateway sends
	// the host it validated as Host.
	tp, err := trustedproxy.New(trustedproxy.Config{
		Trusted:        []string{cfg.Gateway},
		SSLHeader:      "X-Forwarded-Proto",
		SSLHeaderValue: "https",
		Logger:         a.logger,
	})
	if err != nil {
		return nil, err
	}
	siteName, _, _ := strings.Cut(cfg.SiteHost, ":")
	hv, err := hosts.New(hosts.Config{Allowed: []string{siteName}, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	hs, err := headers.New(headers.Config{CSP: cspPolicy(cfg.MediaOrigin)})
	if err != nil {
		return nil, err
	}

	// Request limits: small forms everywhere, one file of at most
	// maxUploadBytes on the upload form.
	lc := limitsConfig()
	lc.Logger = a.logger
	lim, err := limits.New(lc)
	if err != nil {
		return nil, err
	}
	// The default policy (PNG, JPEG, GIF, WebP, PDF by content), the same
	// the gateway applies at the edge.
	a.uploader, err = upload.New(upload.Config{Logger: a.logger})
	if err != nil {
		return nil, err
	}

	// Sessions live in an SQLite file in the state directory: nothing to
	// install, and they survive a restart of the demo. Expired records are
	// purged by SweepSessions while the demo runs.
	store, err := sqlitestore.Open(filepath.Join(cfg.StateDir, "sessions.db"))
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, store.Close)
	a.store = store
	sessions, err := session.New(session.Config{
		Store:       store,
		Lifetime:    12 * time.Hour,
		IdleTimeout: 30 * time.Minute,
		Logger:      a.logger,
	})
	if err != nil {
		return nil, err
	}
	a.sessionCookie = sessions.CookieName()

	// CSRF tokens in every form, secret in a __Host- cookie (Django's
	// default CSRF_USE_SESSIONS = False), plus the Fetch Metadata and
	// Origin checks, which the gateway also runs at the edge.
	cp, err := csrf.New(csrf.Config{Logger: a.logger})
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /guestbook", a.sign)
	mux.HandleFunc("POST /upload", a.upload)
	mux.HandleFunc("GET /robots.txt", a.robots)

	// Django's middleware order: facts, hosts, headers, limits, sessions,
	// CSRF, then the views.
	var h http.Handler = mux
	h = cp.Handler(h)
	h = sessions.Handler(h)
	h = lim.Handler(h)
	h = hs.Handler(h)
	h = hv.Handler(h)
	h = tp.Handler(h)
	// The gateway's health check comes to the app's own address (no
	// forwarded host), so it is answered before host validation; it
	// reveals nothing.
	top := http.NewServeMux()
	top.HandleFunc("GET /healthz", a.healthz)
	top.Handle("/", h)
	a.handler = top
	ok = true
	return a, nil
}

// Handler returns the app's handler.
func (a *App) Handler() http.Handler { return a.handler }

// Close releases the session store and the media directory.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}

// flash is a one-time message shown at the top of the page.
type flash struct {
	Class string // "ok" or "err"
	Text  string
}

// pageData is what the template renders.
type pageData struct {
	Nonce        string
	CSRFField    template.HTML
	AppAddr      string
	MediaOrigin  string
	HSTS         string
	Flash        *flash
	User         string
	DemoUser     string
	DemoPassword string
	Guestbook    []entry
	Signed       int
	Files        []storedFile
	MaxUploadKiB int
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, d pageData) {
	d.Nonce = headers.Nonce(r)
	d.CSRFField = csrf.TemplateField(r)
	d.AppAddr = a.cfg.AppAddr
	d.MediaOrigin = a.cfg.MediaOrigin
	d.HSTS = a.cfg.HSTSMaxAge.String()
	d.DemoUser, d.DemoPassword = DemoUser, DemoPassword
	d.MaxUploadKiB = maxUploadBytes >> 10
	d.Guestbook = a.book.list()
	if d.User != "" {
		files, err := a.media.list()
		if err != nil {
			a.logger.LogAttrs(r.Context(), slog.LevelError, "listing uploads failed", slog.String("event", "media_list_error"), slog.Any("error", err))
		}
		d.Files = files
	}
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, "page", d); err != nil {
		a.logger.LogAttrs(r.Context(), slog.LevelError, "template failed", slog.String("event", "template_error"), slog.Any("error", err))
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// Pages carry a per-request nonce and CSRF token: never cache them.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

func (a *App) robots(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "User-agent: *\nDisallow: /\n")
}

// maxUploadBytes bounds one upload.
const maxUploadBytes = 2 << 20

// limitsConfig is the demo's request limits, the same at the edge and in
// the app: small forms everywhere, one file of at most maxUploadBytes on
// the upload form.
func limitsConfig() limits.Config {
	return limits.Config{
		Values: limits.Values{MaxBodyBytes: 64 << 10, MaxFields: 20},
		Routes: []limits.Route{{
			Pattern: "POST /upload",
			Values:  limits.Values{MaxBodyBytes: maxUploadBytes + 16<<10, MaxFileBytes: maxUploadBytes, MaxFiles: 1},
		}},
	}
}
