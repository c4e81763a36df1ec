import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loginapp.settings")
application = get_wsgi_application()

# One worker (see the tests) creates the schema and the user at start.
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

call_command("migrate", verbosity=0, interactive=False)
if not User.objects.filter(username="alice").exists():
    User.objects.create_user("alice", password=os.environ["LOGINAPP_PASSWORD"])
