package gateway

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/bulwarkdev/bulwark"
	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/media"
	"github.com/bulwarkdev/bulwark/trustedproxy"
	"github.com/bulwarkdev/bulwark/upload"
)

// csrfLayer returns the Fetch Metadata / Origin check for Edge.CSRFPaths.
func (g *Gateway) csrfLayer(cfg Config) (func(http.Handler) http.Handler, error) {
	if cfg.Edge.AllowInsecureNoCSRF {
		return func(h http.Handler) http.Handler { return h }, nil
	}
	cc := cfg.CSRF
	// The edge never sees the upstream's templates, so it cannot hand out
	// tokens; it runs the tokenless layer, which refuses every cross-site
	// unsafe request from current browsers before the upstream runs. The
	// upstream keeps its own token check (Django's CsrfViewMiddleware) for
	// browsers that send neither Sec-Fetch-Site nor Origin.
	cc.InsecureSkipTokens = true
	cc.Logger = g.events
	p, err := csrf.New(cc)
	if err != nil {
		return nil, fmt.Errorf("%w: [csrf]: %w", ErrInvalidConfig, err)
	}
	paths := cfg.Edge.CSRFPaths
	return func(next http.Handler) http.Handler {
		protected := p.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if pathMatch(paths, r.URL.Path) {
				protected.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}, nil
}

// uploadFilter inspects multipart bodies on Edge.UploadPaths before the
// upstream sees a byte: the body is spooled to a private temporary file
// (under the limits layer's cap), every file part is inspected by content
// (upload.Inspect: type allow-list, polyglots, decompression bombs), and
// only then is the spooled body replayed to the upstream. A refused file
// is answered 415, a limit 413 or 400, and the upstream is never contacted.
func (g *Gateway) uploadFilter(cfg Config, next http.Handler) (http.Handler, error) {
	uc := cfg.Upload
	if err := uc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: [upload]: %w", ErrInvalidConfig, err)
	}
	u := &uploadInspector{next: next, paths: cfg.Edge.UploadPaths, policy: uc.Policy, tempDir: uc.TempDir, logger: g.events}
	return u, nil
}

type uploadInspector struct {
	next    http.Handler
	paths   []string
	policy  upload.Policy
	tempDir string
	logger  *slog.Logger
}

func (u *uploadInspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !pathMatch(u.paths, r.URL.Path) || r.Body == nil || r.Body == http.NoBody || isSafeMethod(r.Method) {
		u.next.ServeHTTP(w, r)
		return
	}
	ct := r.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt != "multipart/form-data" {
		// Only multipart bodies carry files a browser would treat as
		// uploads; other bodies pass under the limits layer's cap.
		u.next.ServeHTTP(w, r)
		return
	}
	f, err := os.CreateTemp(u.tempDir, "bulwark-upload-*")
	if err != nil {
		u.logger.LogAttrs(r.Context(), slog.LevelError, "upload spool failed",
			slog.String("event", "upload_spool_error"), slog.String("reason", err.Error()))
		writeStatus(w, http.StatusServiceUnavailable)
		return
	}
	// Unlinked at once: the open descriptor keeps the data until the
	// replay is done, and nothing is left behind if the process dies.
	os.Remove(f.Name())
	defer f.Close()

	n, err := io.Copy(f, r.Body)
	if err != nil {
		var le *limits.Error
		if errors.As(err, &le) {
			limits.Refuse(w, r, u.logger, le)
			return
		}
		// The client stalled (read timeout) or went away.
		writeStatus(w, http.StatusBadRequest)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		writeStatus(w, http.StatusServiceUnavailable)
		return
	}
	if code, ok := u.inspect(w, r, f, ct); !ok {
		if code != 0 {
			writeStatus(w, code)
		}
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		writeStatus(w, http.StatusServiceUnavailable)
		return
	}
	// Replay: a shallow copy of r with the spooled body and its exact
	// length (a chunked upload is forwarded with a Content-Length).
	r2 := r.WithContext(r.Context())
	r2.Body = io.NopCloser(f)
	r2.ContentLength = n
	r2.TransferEncoding = nil
	r2.Header = r.Header.Clone()
	r2.Header.Set("Content-Length", strconv.FormatInt(n, 10))
	u.next.ServeHTTP(w, r2)
}

// inspect walks the spooled multipart body. It returns ok, or the status
// to answer (0 when the response was already written).
func (u *uploadInspector) inspect(w http.ResponseWriter, r *http.Request, body io.Reader, ct string) (int, bool) {
	mr, err := upload.NewReader(body, ct, limits.From(r))
	if err != nil {
		u.refuse(r, "malformed_multipart", "", "")
		return http.StatusBadRequest, false
	}
	for i := 0; i < 1<<16; i++ { // the reader's MaxFields/MaxFiles bound this far earlier
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return 0, true
		}
		if err != nil {
			var le *limits.Error
			if errors.As(err, &le) {
				limits.Refuse(w, r, u.logger, le)
				return 0, false
			}
			u.refuse(r, "malformed_multipart", "", "")
			return http.StatusBadRequest, false
		}
		if !p.IsFile() {
			continue
		}
		v, err := upload.Inspect(p, p.RawFilename, u.policy)
		if err != nil {
			var le *limits.Error
			if errors.As(err, &le) {
				limits.Refuse(w, r, u.logger, le)
				return 0, false
			}
			u.refuse(r, "malformed_multipart", p.Name, "")
			return http.StatusBadRequest, false
		}
		if !v.Allowed {
			u.refuse(r, v.Reason, p.Name, v.Type)
			return http.StatusUnsupportedMediaType, false
		}
	}
	u.refuse(r, "too_many_parts", "", "")
	return http.StatusBadRequest, false
}

func (u *uploadInspector) refuse(r *http.Request, reason, field, typ string) {
	host, _ := hosts.Host(r)
	attrs := []slog.Attr{
		slog.String("event", "upload_refused"),
		slog.String("reason", reason),
		slog.String("client_ip", clientIP(r)),
		slog.String("host", host),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
	}
	if field != "" {
		attrs = append(attrs, slog.String("field", strconv.Quote(truncate(field, 64))))
	}
	if typ != "" {
		attrs = append(attrs, slog.String("detected_type", typ))
	}
	u.logger.LogAttrs(r.Context(), slog.LevelInfo, "upload refused", attrs...)
}

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// mediaChain builds the chain for the media host: host validation against
// the media host alone, the HTTPS redirect and HSTS, then package media,
// which sets its own headers (a sandboxing CSP, nosniff, attachment for
// anything a browser could render). The app's CSRF and upload layers do
// not apply: media is read-only. Nil when no media host is configured.
func (g *Gateway) mediaChain(cfg Config) (http.Handler, io.Closer, error) {
	mc := cfg.Media
	if len(mc.Hosts) == 0 && mc.Dir == "" {
		return nil, nil, nil
	}
	if len(mc.SiteHosts) == 0 {
		mc.SiteHosts = siteHosts(cfg.Hosts.Allowed)
	}
	mc.Logger = g.events
	mh, err := media.New(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: [media]: %w", ErrInvalidConfig, err)
	}
	// The library chain again, with the media names as the only allowed
	// hosts.
	bc := cfg.Config
	bc.Hosts = hosts.Config{Allowed: mc.Hosts}
	bc.Logger = g.events
	lib, err := bulwark.New(bc)
	if err != nil {
		mh.Close()
		return nil, nil, fmt.Errorf("%w: [media]: %w", ErrInvalidConfig, err)
	}
	return lib.Handler(recordFacts(mh)), mh, nil
}

// mediaSwitch sends requests for a media host to media, others to app.
// It matches the host the trusted-proxy rules give (port and trailing dot
// removed, case-insensitively); each chain then validates it properly.
func mediaSwitch(tp *trustedproxy.Resolver, mediaHosts []string, mediaH, app http.Handler) http.Handler {
	set := make(map[string]bool, len(mediaHosts))
	for _, h := range mediaHosts {
		set[normHost(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Host
		if f, err := tp.Facts(r); err == nil {
			h = f.Host
		}
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		if set[normHost(h)] {
			mediaH.ServeHTTP(w, r)
			return
		}
		app.ServeHTTP(w, r)
	})
}

// closeLater closes what an old tree opened once requests still running in
// it have had the drain time to finish.
func closeLater(cs []io.Closer, after time.Duration) {
	if len(cs) == 0 {
		return
	}
	time.AfterFunc(after, func() {
		for _, c := range cs {
			c.Close()
		}
	})
}
