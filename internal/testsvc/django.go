package testsvc

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PythonPath is Debian's python3, the interpreter of Debian's gunicorn and
// python3-django.
const PythonPath = "/usr/bin/python3"

// SiteApp returns the DjangoApp of this package's site app: a small Django
// site as operators deploy one (the admin, a Photo model with an
// ImageField, which needs Pillow: python3-pil; uploads in MEDIA_ROOT; a
// health view at /healthz/; the latest photo as JSON at /photos/latest/),
// with its database migrated and a superuser created. env configures it:
// SITE_ALLOWED_HOSTS and SITE_TRUSTED_ORIGINS (comma-separated) are
// needed; SITE_DB and SITE_MEDIA_ROOT default to files in a temporary
// directory. The superuser is SiteAdminUser / SiteAdminPassword.
func SiteApp(t testing.TB, env ...string) (DjangoApp, string) {
	t.Helper()
	if _, err := exec.LookPath(PythonPath); err != nil {
		unavailable(t, "python3 ("+PythonPath+")", err)
	}
	tmp := t.TempDir()
	media := filepath.Join(tmp, "media")
	if err := os.MkdirAll(media, 0o755); err != nil {
		t.Fatal(err)
	}
	full := append([]string{"SITE_DB=" + filepath.Join(tmp, "site.sqlite3"), "SITE_MEDIA_ROOT=" + media}, env...)
	app := DjangoApp{Module: "siteapp.wsgi:application", Env: full}
	Manage(t, app, "migrate", "--noinput", "-v", "0")
	su := app
	su.Env = append(append([]string{}, app.Env...), "DJANGO_SUPERUSER_PASSWORD="+SiteAdminPassword)
	Manage(t, su, "createsuperuser", "--noinput", "--username", SiteAdminUser, "--email", "admin@example.com")
	return app, media
}

// The site app's superuser.
const (
	SiteAdminUser     = "admin"
	SiteAdminPassword = "correct-horse-battery-staple"
)

// Manage runs a Django management command of app (python3 -m django with
// the app's settings module) and returns its output; a failure fails t.
// Python's and Django's absence skip t (or fail it, see Required).
func Manage(t testing.TB, app DjangoApp, args ...string) string {
	t.Helper()
	if app.Dir == "" {
		app.Dir = djangoDir()
	}
	settings := "siteapp.settings"
	if app.Module == "" || app.Module == "echoapp.wsgi:application" {
		settings = "echoapp.settings"
	}
	cmd := exec.Command(PythonPath, append([]string{"-m", "django"}, args...)...)
	cmd.Dir = app.Dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "PYTHONDONTWRITEBYTECODE=1",
		"PYTHONPATH=" + app.Dir, "DJANGO_SETTINGS_MODULE=" + settings, "HOME=" + t.TempDir()}
	cmd.Env = append(cmd.Env, app.Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if check := exec.Command(PythonPath, "-c", "import django, PIL"); check.Run() != nil {
			unavailable(t, "python3-django and python3-pil", err)
		}
		t.Fatalf("django %v: %v\n%s", args, err, out)
	}
	return string(out)
}
