"""Views of the site app: a form with an ImageField outside the admin, the
latest photo as JSON (for tests), and a cheap health view."""
from django import forms
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect
from django.utils.html import escape

from .models import Photo


class PhotoForm(forms.ModelForm):
    class Meta:
        model = Photo
        fields = ["title", "image"]


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


def new_photo(request):
    form = PhotoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        return redirect("/photos/latest/")
    token = get_token(request)
    errors = escape(form.errors.as_text()) if request.method == "POST" else ""
    return HttpResponse(
        '<!doctype html><form method="post" enctype="multipart/form-data">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="%s">'
        '<input name="title"><input type="file" name="image"><button>Upload</button></form>'
        '<pre>%s</pre>' % (token, errors),
        status=400 if errors else 200,
    )


def latest(request):
    p = Photo.objects.order_by("-id").first()
    return JsonResponse({
        "count": Photo.objects.count(),
        "name": p.image.name if p else "",
        "url": p.image.url if p else "",
    })
