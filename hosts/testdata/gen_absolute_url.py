# Generates absolute_url.json: python3 gen_absolute_url.py > absolute_url.json
# The build_absolute_uri algorithm of django/http/request.py, with Python's urllib.
from urllib.parse import urlsplit, urljoin, quote
def iri_to_uri(iri): return quote(iri, safe="/#%[]=:;$&()+,!?*@'~")
def escape_uri_path(p): return quote(p, safe="/:@&+$,-_.!~*'()")
def bau(scheme, host, path, query, location):
    csh = "%s://%s" % (scheme, host)
    if location is None:
        location = "//" + escape_uri_path(path) + (("?" + iri_to_uri(query)) if query else "")
    bits = urlsplit(location)
    if not (bits.scheme and bits.netloc):
        if bits.path.startswith("/") and not bits.scheme and not bits.netloc and "/./" not in bits.path and "/../" not in bits.path:
            if location.startswith("//"): location = location[2:]
            location = csh + location
        else:
            location = urljoin(csh + path, location)
    return iri_to_uri(location)
import json
paths=[("/a/b","x=1"),("/a/b/",""),("//absolute-uri",""),("/",""),("/caf\u00e9 x/y","q=\u00e9&a=b c"),("",""),("/a;p/b","")]
locs=[None,"","/c","c","../c","../../../c",".","..","?q=1","#frag","/x/./y/../z","///x","/caf\u00e9 x","/%41",
"https://other.example/p?q","mailto:a@b.example","//evil.example/x","\t//evil.example/","/\\evil.example","http:x","http:/x","http://","//",
"./","a/./b/../c","/foo/../bar/","/foo/./bar/","//example.com/?foo=bar","///foo/bar/","http://example.com/?foo=bar"," /sp","x?y#z",";p","a//b","../a//b/","..//x",
"HTTP://Upper.example/","ftp://f.example/x","javascript:alert(1)","\x00/x","/a\r\nb","data:text/html,<x>","https:relative","//[::1]/x","//user@host/",
"/path/with:colons","?","#","?#","/a?b?c","g;x=1/../y","//example.com","tel:+1","https://bücher.example/ä","..;/x","/..","/.", "/a/..", "a/.."]
cases=[]
for s,h in [("http","testserver"),("https","Example.COM.:8443"),("http","[2001:db8::1]:80")]:
  for p,q in paths:
    for l in locs: cases.append(dict(scheme=s,host=h,path=p,query=q,location=l))

out = []
for c in cases:
    try:
        r = bau(c["scheme"], c["host"], c["path"], c["query"], c["location"])
    except ValueError as e:
        r = {"error": str(e)}
    out.append(dict(c, want=r))
print(json.dumps({"about": "Reference outputs of Django's HttpRequest.build_absolute_uri algorithm (django/http/request.py at the commit in hosts.json), computed with Python's urllib.parse and Django's iri_to_uri / escape_uri_path by gen_absolute_url.py. location null means build_absolute_uri() without a location.", "cases": out}, indent=1, ensure_ascii=False))
