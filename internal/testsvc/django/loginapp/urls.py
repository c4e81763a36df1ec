from django.contrib.auth.views import LoginView
from django.http import HttpResponse
from django.urls import path


def profile(request):
    return HttpResponse("signed in as %s" % request.user.get_username(), content_type="text/plain")


def ready(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("accounts/login/", LoginView.as_view()),
    path("admin/login/", LoginView.as_view()),
    path("accounts/profile/", profile),
    path("_ready", ready),
]
