"""Settings of the site app: a small Django site as operators deploy one
behind the gateway (the admin, a model with an ImageField, uploads stored
in MEDIA_ROOT and served by the gateway's media host, a health view),
configured from the environment by the tests."""
import os

import django

SECRET_KEY = os.environ.get("SITE_SECRET_KEY", "site-app-test-key-" + "y" * 40)
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("SITE_ALLOWED_HOSTS", "").split(",") if h]
ROOT_URLCONF = "siteapp.urls"
WSGI_APPLICATION = "siteapp.wsgi.application"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "siteapp.photos",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ.get("SITE_DB", "site.sqlite3")}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

# Behind the gateway, as the README's Django settings say.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = False
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Django 4.0 checks Origin against CSRF_TRUSTED_ORIGINS, which then need a
# scheme; Django 3.2 checks the Referer against bare host names.
_origins = [o for o in os.environ.get("SITE_TRUSTED_ORIGINS", "").split(",") if o]
if django.VERSION >= (4, 0):
    CSRF_TRUSTED_ORIGINS = _origins
else:
    CSRF_TRUSTED_ORIGINS = [o.split("://", 1)[-1] for o in _origins]

MEDIA_ROOT = os.environ.get("SITE_MEDIA_ROOT", "media")
MEDIA_URL = os.environ.get("SITE_MEDIA_URL", "/media/")
# Django's own limits stay as a second line behind the gateway's.
FILE_UPLOAD_PERMISSIONS = 0o644
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
