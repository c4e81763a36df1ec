from django.contrib import admin
from django.urls import path

from siteapp.photos import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz/", views.healthz),
    path("photos/new/", views.new_photo),
    path("photos/latest/", views.latest),
    path("_ready", views.healthz),
]
