"""Views of the echo app. echo answers every path and method with a JSON
report of the request as Django sees it."""
import hashlib
import json
import time

from django.core.exceptions import DisallowedHost
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse


def _files(request):
    out = {}
    for field, files in request.FILES.lists():
        out[field] = []
        for f in files:
            data = f.read()
            out[field].append({
                "name": f.name,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "content_type": f.content_type,
            })
    return out


def echo(request):
    report = {
        "method": request.method,
        "path": request.path,
        "path_info": request.path_info,
        "script_name": request.META.get("SCRIPT_NAME", ""),
        "query": request.META.get("QUERY_STRING", ""),
        "scheme": request.scheme,
        "is_secure": request.is_secure(),
        "remote_addr": request.META.get("REMOTE_ADDR", ""),
        "server_port": request.META.get("SERVER_PORT", ""),
        "content_type": request.META.get("CONTENT_TYPE", ""),
        "content_length": request.META.get("CONTENT_LENGTH", ""),
        "meta": {k: v for k, v in request.META.items() if k.startswith("HTTP_")},
    }
    try:
        report["host"] = request.get_host()
        report["port"] = request.get_port()
        report["absolute_uri"] = request.build_absolute_uri()
    except DisallowedHost as e:
        report["host_error"] = str(e)
    ctype = request.META.get("CONTENT_TYPE", "")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if ctype.startswith("multipart/form-data") or ctype.startswith("application/x-www-form-urlencoded"):
            if request.method == "POST":
                report["post"] = {k: v for k, v in request.POST.lists()}
                report["files"] = _files(request)
            else:
                body = request.body
                report["body_size"] = len(body)
                report["body_sha256"] = hashlib.sha256(body).hexdigest()
        else:
            body = request.body
            report["body_size"] = len(body)
            report["body_sha256"] = hashlib.sha256(body).hexdigest()
    return JsonResponse(report)


def slow(request, ms):
    """Answers after ms milliseconds: a slow view holding a sync worker."""
    time.sleep(int(ms) / 1000.0)
    return JsonResponse({"slept_ms": int(ms)})


def stream(request, n):
    """Streams n MiB of zeros: a large download through the gateway."""
    chunk = b"\0" * (1 << 20)

    def gen():
        for _ in range(int(n)):
            yield chunk

    resp = StreamingHttpResponse(gen(), content_type="application/octet-stream")
    resp["Content-Length"] = str(int(n) << 20)
    return resp


def early(request):
    """Answers 403 without reading the request body."""
    return HttpResponse("refused early", status=403, content_type="text/plain")
