"""Settings of the login app: a Django project with django.contrib.auth's
LoginView, the view whose answers failed-login rate limits read (a failed
sign-in re-renders the form with 200, a successful one redirects with 302).
Its SQLite database is the file $LOGINAPP_DB, created at start with one
user, alice, whose password is $LOGINAPP_PASSWORD."""
import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "login-app-test-key-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "loginapp.urls"
WSGI_APPLICATION = "loginapp.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["LOGINAPP_DB"]}}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
# A fast hasher: the tests measure the edge, not PBKDF2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [os.path.join(BASE_DIR, "templates")],
}]
LOGIN_REDIRECT_URL = "/accounts/profile/"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# As a Django site behind a TLS-terminating proxy is configured.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = True
USE_X_FORWARDED_PORT = True
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
