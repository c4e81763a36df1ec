package demo

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bulwarkdev/bulwark/csrf"
	"github.com/bulwarkdev/bulwark/limits"
	"github.com/bulwarkdev/bulwark/session"
	"github.com/bulwarkdev/bulwark/upload"
	"github.com/bulwarkdev/bulwark/upload/inspect"
)

// Session keys.
const (
	keyUser   = "user"
	keySigned = "signed"
	keyFlash  = "flash"
)

// currentUser returns the signed-in user, or "".
func currentUser(r *http.Request) string {
	u, _ := session.Get[string](r, keyUser)
	return u
}

// setFlash keeps a message for the next page (post/redirect/get).
func setFlash(r *http.Request, class, text string) {
	_ = session.Put(r, keyFlash, flash{Class: class, Text: text})
}

// seeOther ends a successful POST: 303 to the page, so a reload does not
// post again.
func seeOther(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	d := pageData{User: currentUser(r)}
	if f, ok := session.Pop[flash](r, keyFlash); ok {
		d.Flash = &f
	}
	d.Signed, _ = session.Get[int](r, keySigned)
	a.render(w, r, http.StatusOK, d)
}

// login signs the demo user in. On success the session gets a new id
// (Renew: an id an attacker planted before sign-in is worthless after it)
// and the CSRF secret is rotated (a token seen before sign-in does not
// work after it), as Django's login() does.
func (a *App) login(w http.ResponseWriter, r *http.Request) {
	user, password := r.PostFormValue("user"), r.PostFormValue("password")
	if !checkPassword(user, password) {
		a.logger.LogAttrs(r.Context(), slog.LevelInfo, "sign-in failed", slog.String("event", "login_failed"), slog.String("path", r.URL.Path))
		a.render(w, r, http.StatusOK, pageData{Flash: &flash{Class: "err", Text: "Wrong user or password."}})
		return
	}
	if err := session.Renew(r); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := session.Put(r, keyUser, DemoUser); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := csrf.Rotate(r); err != nil {
		a.fail(w, r, err)
		return
	}
	setFlash(r, "ok", "Signed in. Your session id and CSRF secret were both replaced.")
	seeOther(w, r)
}

// logout flushes the session: record deleted at once, cookie removed.
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := session.Flush(r); err != nil {
		a.fail(w, r, err)
		return
	}
	seeOther(w, r)
}

// maxMessage bounds a guestbook message, in characters.
const maxMessage = 200

func (a *App) sign(w http.ResponseWriter, r *http.Request) {
	user := currentUser(r)
	if user == "" {
		a.render(w, r, http.StatusForbidden, pageData{Flash: &flash{Class: "err", Text: "Sign in first."}})
		return
	}
	msg := strings.TrimSpace(r.PostFormValue("message"))
	if msg == "" || utf8.RuneCountInString(msg) > maxMessage || !utf8.ValidString(msg) {
		setFlash(r, "err", "A message is 1 to 200 characters.")
		seeOther(w, r)
		return
	}
	// html/template escapes it on output: a message holding markup is
	// shown as text, and the CSP would block a script anyway.
	a.book.add(entry{When: time.Now(), Who: user, Message: msg})
	n, _ := session.Get[int](r, keySigned)
	if err := session.Put(r, keySigned, n+1); err != nil {
		a.fail(w, r, err)
		return
	}
	setFlash(r, "ok", "Thank you for signing.")
	seeOther(w, r)
}

// reasons are the messages shown for refused uploads, by Verdict.Reason
// (stable codes; the verdict's Message is for logs only, it can quote the
// file's metadata).
var reasons = map[string]string{
	inspect.ReasonNotAllowed:       "this type of file is not accepted here",
	inspect.ReasonTypeMismatch:     "the file name's extension does not match its content",
	inspect.ReasonHTML:             "the file is HTML",
	inspect.ReasonSVGScript:        "the SVG image carries script",
	inspect.ReasonXMLScript:        "the XML carries markup that can run script",
	inspect.ReasonExecutable:       "the file is a program or a script",
	inspect.ReasonPolyglot:         "the file hides HTML inside another format (a polyglot)",
	inspect.ReasonTrailingData:     "the file has data after its end",
	inspect.ReasonDisguisedArchive: "the file is an archive in disguise",
	inspect.ReasonPixelBomb:        "the image declares too many pixels (a decompression bomb)",
	inspect.ReasonCorrupt:          "the file does not parse as its type",
	inspect.ReasonEmpty:            "the file is empty",
	inspect.ReasonTooLarge:         "the file is too large to inspect",
}

// upload accepts one file: parsed as a stream under the request's limits,
// judged by content (inspect.File through the Uploader), stored through
// upload.Storage, served back from the media host. The gateway inspects
// the same upload before it gets here; the app checks again because it
// must not rely on being deployed behind a filter, and because it stores
// by the verdict's type.
func (a *App) upload(w http.ResponseWriter, r *http.Request) {
	user := currentUser(r)
	if user == "" {
		a.render(w, r, http.StatusForbidden, pageData{Flash: &flash{Class: "err", Text: "Sign in first."}})
		return
	}
	form, err := a.uploader.Parse(r)
	if err != nil {
		status, text := http.StatusBadRequest, "The upload could not be read."
		var re *upload.RefusedError
		var le *limits.Error
		switch {
		case errors.As(err, &re):
			status = http.StatusUnsupportedMediaType
			text = "Refused: " + reasons[re.Verdict.Reason] + "."
			if reasons[re.Verdict.Reason] == "" {
				text = "Refused."
			}
			a.logger.LogAttrs(r.Context(), slog.LevelInfo, "upload refused", slog.String("event", "upload_refused"),
				slog.String("reason", re.Verdict.Reason), slog.String("type", re.Verdict.Type), slog.String("path", r.URL.Path))
		case errors.As(err, &le):
			status = le.Status()
			text = "Refused: the upload is over a limit (" + le.Limit + ")."
		}
		a.render(w, r, status, pageData{User: user, Flash: &flash{Class: "err", Text: text}})
		return
	}
	defer form.RemoveAll()
	files := form.File["file"]
	if len(files) != 1 {
		a.render(w, r, http.StatusBadRequest, pageData{User: user, Flash: &flash{Class: "err", Text: "Choose one file."}})
		return
	}
	f := files[0]
	if _, err := a.media.save(f); err != nil {
		a.fail(w, r, err)
		return
	}
	setFlash(r, "ok", "Accepted "+f.Filename+" as "+f.Verdict.Type+".")
	seeOther(w, r)
}

// fail answers an internal failure (a session store error becomes 503 in
// the session layer; anything else is 500). The error is logged, never
// shown.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.logger.LogAttrs(r.Context(), slog.LevelError, "request failed", slog.String("event", "app_error"),
		slog.String("path", r.URL.Path), slog.Any("error", err))
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}
