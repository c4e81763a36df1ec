// Package upload receives files safely: a streaming multipart reader with
// Bulwark's limits, client filenames reduced to labels, a content
// inspector that decides by bytes alone, and storage under generated names
// through os.Root.
//
// # Reading
//
// ReadForm (and the lower-level Reader) parse multipart/form-data under
// one limits.Limits, by default those the limits Handler put in the
// request context: field and file counts as Django counts them, the
// 1024-byte part-header guard, field bytes (DATA_UPLOAD_MAX_MEMORY_SIZE),
// a per-file cap, and a memory threshold above which files are spooled to
// a private temporary directory (0700, files 0600) that is removed on
// error, on panic, and by Form.RemoveAll. Django's parser guards apply: the
// Content-Type must be multipart and ASCII, the boundary must match
// [ -~]{0,200}[!-~], base64 parts are decoded strictly.
//
// # Names
//
// SanitizeFilename is Django's MultiPartParser.sanitize_file_name;
// DisplayName adds Django's 255-character rule and NFC normalisation. The
// result is a label for display (escape it where shown), never a path:
// Storage names files with random ids and the extension of the detected
// type.
//
// # Content
//
// Every file is judged by its content alone with package
// [github.com/bulwarkdev/bulwark/upload/inspect] (inspect.File: magic
// bytes, polyglots, trailing data, disguised archives, pixel bombs, an
// allow-list), under Config.Policy; with Config.Reencode, raster images
// are rewritten through the standard library's codecs (inspect.Reencode).
//
// Uploader.Handler runs all of this before the application: malformed
// bodies get 400, limit violations 400 or 413 (one event from package
// limits), refused content 415 with one upload_refused event. A body that
// is neither multipart nor a urlencoded form (a PUT of an image, a POST
// with Content-Type: image/png), which an application reads whole and may
// store as a file, is inspected as one file by inspect.Body (its declared
// type must agree with the content, as a name's extension must), unless
// it is an API's data (declared JSON, XML or text, or undeclared text or
// opaque bytes), which passes when it is not active markup; with
// Config.RawBodies = "refuse" every such body is refused (reason
// raw_body).
//
// # Threat model
//
// Stops: memory, disk-descriptor and CPU exhaustion through multipart
// bodies (part counts, header sizes, field and file sizes, slow or
// length-lying bodies when combined with the limits Handler); path
// traversal and overwrite through client filenames (they never reach the
// file system); stored cross-site scripting through uploaded HTML, SVG,
// XML and image/HTML polyglots (the guide's PNG+HTML file), in a form or
// as a raw body; executables
// and disguised archives passed on to other users; decompression bombs in
// image headers and compressed PNG text.
//
// Does not stop: malicious content inside an allowed format that is not
// markup (an exploit for a specific image decoder, a PDF with JavaScript:
// PDF readers are their own sandbox; allow PDF only if that is
// acceptable), malware scanning, or polyglots whose second personality is
// not HTML or script and not after an end marker (for example data
// hidden in pixel data: Reencode removes those for raster images). Serving
// is the other half: store nothing you cannot serve with package media's
// headers from a separate site.
package upload
