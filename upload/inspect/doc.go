// Package inspect decides whether uploaded content is acceptable by its
// bytes alone, never by the client's file name or Content-Type: the
// content checks package upload runs on every file of a form and on a
// request body that is not a form, usable on their own for content that
// arrives another way (a queue, an object store, an import).
//
// File detects the type from magic bytes (github.com/gabriel-vasile/mimetype)
// and refuses, with a stable reason code: executables and scripts
// (executable), HTML (html), SVG and XML with active content, parsed with
// encoding/xml (svg_script, xml_script), markup hidden in another format's
// first bytes or metadata such as PNG text chunks, JPEG comments and APPn
// segments, GIF extensions (polyglot_html), bytes after an image's end
// marker, with PNG CRCs, JPEG segments and scans and GIF blocks walked
// properly (trailing_data), archives under other names
// (disguised_archive), images declaring more pixels than the Policy
// allows, read from the header without decoding (pixel_bomb), types
// outside the allow-list (not_allowed) and extensions that disagree with
// the content (type_mismatch).
//
// Body judges a request body that is not a form (a PUT of an image): its
// declared type plays the part of the name's extension, and a body
// declared as an API's data (JSON, XML, text), or undeclared text or
// opaque bytes, passes when it is not active markup.
//
// Reencode rewrites raster images through the standard library's codecs,
// dropping anything that is not pixels.
//
// # Threat model
//
// Stops: stored cross-site scripting through uploaded HTML, SVG, XML and
// image/HTML polyglots (the guide's PNG+HTML file), in a file or as a raw
// body; executables and disguised archives passed on to other users;
// decompression bombs in image headers and compressed PNG text. Reading is
// streaming: at most a few buffers are held, whatever the input's size
// (bound the size itself with package limits).
//
// Does not stop: malicious content inside an allowed format that is not
// markup (an exploit for a specific image decoder, a PDF with JavaScript:
// PDF readers are their own sandbox; allow PDF only if that is
// acceptable), malware scanning, or polyglots whose second personality is
// not HTML or script and not after an end marker (for example data hidden
// in pixel data: Reencode removes those for raster images). Serving is the
// other half: store nothing you cannot serve with package media's headers
// from a separate site.
package inspect
