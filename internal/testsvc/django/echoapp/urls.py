from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^_slow/(?P<ms>[0-9]+)/$", views.slow),
    re_path(r"^_stream/(?P<n>[0-9]+)/$", views.stream),
    re_path(r"^_early/$", views.early),
    re_path(r"", views.echo),
]
