from django.apps import AppConfig


class PhotosConfig(AppConfig):
    name = "siteapp.photos"
    label = "photos"
