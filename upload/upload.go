package upload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/bulwarkdev/bulwark/internal/limitsrefusal"
	"github.com/bulwarkdev/bulwark/internal/refusal"
	"github.com/bulwarkdev/bulwark/internal/spool"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Config configures an Uploader. The zero Config accepts PNG, JPEG, GIF,
// WebP and PDF files (decided by content), spools large files to the
// system temporary directory, and applies the request's limits.
type Config struct {
	// TempDir is where large files are spooled, each request in its own
	// private directory (FILE_UPLOAD_TEMP_DIR). Empty means os.TempDir().
	TempDir string `toml:"temp_dir"`
	// Policy decides which content is accepted. The zero Policy allows
	// DefaultAllow.
	Policy inspect.Policy `toml:"policy"`
	// Storage configures where accepted files are stored (see Storage).
	// Optional: an Uploader only parses and inspects.
	Storage StorageConfig `toml:"storage"`
	// Reencode makes Parse rewrite every accepted PNG, JPEG and GIF through
	// the standard library's codecs (see Reencode), so that nothing but
	// pixels reaches the application. Decoding costs up to 4 bytes of
	// memory per pixel allowed by Policy.MaxPixels. Incompatible with
	// Forward (the forwarded body is the original). False by default.
	Reencode bool `toml:"reencode"`
	// Forward makes the Handler keep a copy of the raw body (in memory up
	// to 64 KiB, then in a private temporary file without a name) and give
	// it to the next handler as r.Body, with Content-Length set, once the
	// upload has been accepted: for a proxy that must pass the body on
	// unchanged. False (the default): the body is consumed and the next
	// handler reads the parsed form through FormFrom.
	Forward bool `toml:"forward"`
	// RawBodies says what the Handler does with a body that is neither
	// multipart nor a urlencoded form (a PUT or POST of an image with
	// Content-Type: image/png), which an application reads as the
	// request's body and may store as a file: RawInspect ("inspect", and
	// the default when empty) inspects it as one file (inspect.Body: by
	// content, against Policy, the declared type agreeing) and refuses
	// it with 415 as a file would be; RawRefuse ("refuse") refuses every
	// such body with 415 (reason raw_body). An accepted body reaches the
	// next handler as r.Body, spooled, with its Content-Length.
	RawBodies string `toml:"raw_bodies"`
	// Logger receives one Info event per refused upload. Nil means
	// slog.Default().
	Logger *slog.Logger `toml:"-"`
}

// WithDefaults returns c with the defaults New applies filled in (the
// policy's allow-list and pixel cap, the storage permissions when storage
// is on): what "bulwark check" prints. The result means the same as c.
func (c Config) WithDefaults() Config {
	if c.Policy.Allow == nil {
		c.Policy.Allow = slices.Clone(inspect.DefaultAllow)
	}
	if c.Policy.MaxPixels == 0 {
		c.Policy.MaxPixels = inspect.DefaultMaxPixels
	}
	if c.RawBodies == "" {
		c.RawBodies = RawInspect
	}
	if c.Storage.Dir != "" {
		if c.Storage.FilePermissions == 0 {
			c.Storage.FilePermissions = defaultFilePerm
		}
		if c.Storage.DirectoryPermissions == 0 {
			c.Storage.DirectoryPermissions = defaultDirPerm
		}
	}
	return c
}

// ErrConfig is wrapped by every configuration error of Config.Validate
// and New, except the policy's, which wrap ErrInvalidPolicy.
var ErrConfig = errors.New("upload: invalid configuration")

// Validate reports the first problem in c.
func (c Config) Validate() error {
	if err := validRawBodies(c.RawBodies); err != nil {
		return err
	}
	if c.Reencode && c.Forward {
		return fmt.Errorf("%w: reencode and forward cannot be combined (the forwarded body is the original)", ErrConfig)
	}
	if err := c.Policy.Validate(); err != nil {
		return err
	}
	if c.TempDir != "" {
		fi, err := os.Stat(c.TempDir)
		if err != nil || !fi.IsDir() {
			return fmt.Errorf("%w: temp_dir %q is not a directory", ErrConfig, c.TempDir)
		}
	}
	return c.Storage.validate()
}

// Uploader parses and inspects multipart uploads. It is immutable and safe
// for concurrent use.
type Uploader struct {
	c       Config
	lg      *slog.Logger
	storage *Storage
	spool   *spool.Spooler // raw copies of forwarded and non-form bodies
}

// New validates c and returns an Uploader.
func New(c Config) (*Uploader, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lg := c.Logger
	if lg == nil {
		lg = slog.Default()
	}
	u := &Uploader{c: c, lg: lg, spool: spool.New(c.TempDir, 0)}
	if c.Storage.Dir != "" {
		s, err := NewStorage(c.Storage)
		if err != nil {
			return nil, err
		}
		u.storage = s
	}
	return u, nil
}

// ErrNoStorage is returned by Save when Config.Storage.Dir is empty.
var ErrNoStorage = errors.New("upload: no storage configured")

// Save stores an accepted file in the configured Storage and returns its
// storage name.
func (u *Uploader) Save(f *File) (string, error) {
	if u.storage == nil {
		return "", ErrNoStorage
	}
	return u.storage.Save(f)
}

// Close releases the storage root, if any.
func (u *Uploader) Close() error {
	if u.storage == nil {
		return nil
	}
	return u.storage.Close()
}

// RefusedError is returned by Parse when a file's content is refused.
type RefusedError struct {
	// Field is the form field that carried the file.
	Field string
	// Verdict says why the content was refused.
	Verdict inspect.Verdict
}

// Error names the field and the reason. It holds the field name, which
// the client chose: log it, never write it into a response.
func (e *RefusedError) Error() string {
	return fmt.Sprintf("upload: file in field %q refused: %s (%s)", e.Field, e.Verdict.Reason, e.Verdict.Message)
}

// ErrNotMultipart is returned by Parse for a request that is not
// multipart.
var ErrNotMultipart = errors.New("upload: request is not multipart")

// Parse reads r's multipart body under the request's effective limits
// (limits.From) and inspects every file. On success each File carries its
// Verdict and the caller must call Form.RemoveAll; on any error nothing is
// left on disk. A refused file gives a *RefusedError.
func (u *Uploader) Parse(r *http.Request) (*Form, error) {
	if r.Body == nil {
		return nil, ErrNotMultipart
	}
	return u.parse(r, r.Body)
}

// ReadRequest is ReadForm for a request, with Django's request-level
// rules: a negative Content-Length is malformed, and a declared length of
// zero is an empty form.
func ReadRequest(r *http.Request, lim limits.Limits, tempDir string) (*Form, error) {
	if r.Body == nil {
		return nil, ErrNotMultipart
	}
	return readRequest(r, r.Body, lim, tempDir)
}

func readRequest(r *http.Request, body io.Reader, lim limits.Limits, tempDir string) (*Form, error) {
	if r.ContentLength == 0 {
		// An empty body is an empty form, as in Django (Content-Length 0).
		if _, err := Boundary(r.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
		return &Form{Value: map[string][]string{}, File: map[string][]*File{}}, nil
	}
	if v := r.Header.Get("Content-Length"); v != "" {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n < 0 {
			return nil, malformed("negative content length")
		}
	}
	return ReadForm(body, r.Header.Get("Content-Type"), lim, tempDir)
}

func (u *Uploader) parse(r *http.Request, body io.Reader) (*Form, error) {
	form, err := readRequest(r, body, limits.From(r), u.c.TempDir)
	if err != nil {
		return nil, err
	}
	for field, files := range form.File {
		for _, f := range files {
			rc, err := f.Open()
			if err != nil {
				form.RemoveAll()
				return nil, err
			}
			v, err := inspect.File(rc, f.Filename, u.c.Policy)
			rc.Close()
			if err != nil {
				form.RemoveAll()
				return nil, err
			}
			f.Verdict = v
			if !v.Allowed {
				form.RemoveAll()
				return nil, &RefusedError{Field: field, Verdict: v}
			}
			if u.c.Reencode && (v.Type == "image/png" || v.Type == "image/jpeg" || v.Type == "image/gif") {
				if err := form.reencode(f); err != nil {
					form.RemoveAll()
					return nil, &RefusedError{Field: field, Verdict: inspect.Verdict{Type: v.Type, Reason: inspect.ReasonCorrupt, Message: "re-encoding failed: " + err.Error()}}
				}
			}
		}
	}
	return form, nil
}

type formKey struct{}

// FormFrom returns the form parsed by the Handler.
func FormFrom(r *http.Request) (*Form, bool) {
	f, ok := r.Context().Value(formKey{}).(*Form)
	return f, ok
}

// Handler parses and inspects multipart requests before next runs:
// malformed bodies are refused with 400, limit violations with their
// limits status (400 or 413), refused content with 415, each with one Info
// event. Accepted forms are available to next through FormFrom and are
// removed from disk when next returns. A body that is neither multipart
// nor urlencoded is inspected as one file, or refused (see
// Config.RawBodies). Requests without a body, and urlencoded forms, pass
// untouched.
func (u *Uploader) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := Boundary(r.Header.Get("Content-Type")); err != nil {
			if isMultipart(r) {
				u.refuse(w, r, err)
				return
			}
			if isRawBody(r) {
				u.serveRaw(w, r, next)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if r.Body == nil {
			u.refuse(w, r, ErrNotMultipart)
			return
		}
		var body io.Reader = r.Body
		var raw *spool.Body
		if u.c.Forward {
			// Keep the exact bytes for the upstream while parsing them;
			// the copy is bounded by the same total cap.
			raw = u.spool.Get()
			defer raw.Close()
			body = io.TeeReader(limits.NewReader(r.Body, limits.From(r).MaxBodyBytes), raw)
		}
		form, err := u.parse(r, body)
		if err == nil && raw != nil {
			// The epilogue after the closing delimiter belongs to the body
			// too.
			_, err = io.Copy(io.Discard, body)
		}
		if err != nil {
			if form != nil {
				form.RemoveAll()
			}
			u.refuse(w, r, err)
			return
		}
		defer form.RemoveAll()
		r2 := r.WithContext(context.WithValue(r.Context(), formKey{}, form))
		if raw != nil {
			if err := raw.Finish(); err != nil {
				u.refuse(w, r, err)
				return
			}
			n := raw.Len()
			r2.Body, r2.ContentLength, r2.TransferEncoding, r2.Trailer = raw, n, nil, nil
			// The request's header map is shared with the caller's: copy
			// it before changing it.
			r2.Header = r.Header.Clone()
			r2.Header.Del("Transfer-Encoding")
			r2.Header.Set("Content-Length", strconv.FormatInt(n, 10))
		}
		next.ServeHTTP(w, r2)
	})
}

// isMultipart reports whether r's Content-Type names a multipart type the
// way mime.ParseMediaType reads it (leading white space skipped, any
// case). A request that a parser further down would take as multipart but
// whose boundary Boundary refuses must be refused, not passed on: it would
// reach the application's own multipart parser uninspected.
func isMultipart(r *http.Request) bool {
	ct := strings.TrimLeft(r.Header.Get("Content-Type"), " \t")
	return len(ct) >= 10 && strings.EqualFold(ct[:10], "multipart/")
}

// refuse answers a refused upload and logs one event. The body is the
// status text; the reason is only logged.
func (u *Uploader) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var le *limits.Error
	if errors.As(err, &le) {
		limitsrefusal.Write(w, r, u.lg, err)
		return
	}
	status, event, reason := http.StatusBadRequest, "upload_malformed", "malformed"
	if !errors.Is(err, ErrMalformed) {
		// The body could not be read to its end: the client stalled
		// (408), went away, or broke the framing (400).
		event = "request_body_refused"
		status, reason = spool.Fault(err)
	}
	var re *RefusedError
	if errors.As(err, &re) {
		status, event, reason = http.StatusUnsupportedMediaType, "upload_refused", re.Verdict.Reason
	}
	var extra []slog.Attr
	if re != nil {
		// The field name is the client's; the message may quote file
		// metadata: both quoted and bounded.
		extra = []slog.Attr{slog.String("type", re.Verdict.Type), refusal.Quoted("field", re.Field)}
		if re.Verdict.Message != "" {
			extra = append(extra, refusal.Detail(re.Verdict.Message))
		}
	}
	refusal.Log(u.lg, r, "upload refused", event, reason, extra...)
	w.Header().Set("Connection", "close")
	http.Error(w, http.StatusText(status), status)
}
