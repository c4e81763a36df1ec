"""Settings of the echo app: a Django project whose one view reports what
Django made of the request, so that gateway tests can assert what the app
behind the gateway actually received."""
import os

SECRET_KEY = os.environ.get("ECHO_SECRET_KEY", "echo-app-test-key-" + "x" * 40)
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ECHO_ALLOWED_HOSTS", "*").split(",") if h]
ROOT_URLCONF = "echoapp.urls"
WSGI_APPLICATION = "echoapp.wsgi.application"
INSTALLED_APPS = []
# No CSRF middleware: the app accepts whatever reaches it, so a test sees
# exactly what the edge let through.
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
# As a Django site behind a TLS-terminating proxy is configured.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = os.environ.get("ECHO_USE_X_FORWARDED_HOST", "1") == "1"
USE_X_FORWARDED_PORT = os.environ.get("ECHO_USE_X_FORWARDED_PORT", "1") == "1"
DATA_UPLOAD_MAX_MEMORY_SIZE = None
DATA_UPLOAD_MAX_NUMBER_FIELDS = None
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 << 20
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
