// Package limits is Bulwark's one model of request-size limits: the total
// body, non-file form data, the number of fields and files, one file, one
// multipart part's header block, and the size up to which uploaded files
// stay in memory.
//
// The defaults are Django's (DATA_UPLOAD_MAX_MEMORY_SIZE,
// DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_NUMBER_FILES,
// FILE_UPLOAD_MAX_MEMORY_SIZE, the 1024-byte part-header guard) plus what
// Django leaves to the web server: a total body cap (32 MiB by default)
// enforced while the body streams, and a per-file cap. Routes may override
// any limit for a path subtree, an exact path, or a method and path.
//
// A Limiter's Handler refuses a request whose declared Content-Length is
// over the cap (413) or whose query string has too many fields (400) before
// the application runs, wraps r.Body so that reading past the cap fails
// with an *Error, and records the effective Limits in the request context,
// where package upload and ParseForm find them (From).
//
// Every refusal is one Info event: event (request_too_large,
// request_data_too_big, too_many_fields, too_many_files, file_too_large,
// part_header_too_large), reason (the limit's key, e.g. "max_fields"),
// limit (its configured value), client_ip, host, method and path.
//
// # Threat model
//
// Limits stops resource exhaustion by request size: bodies of any length
// (with a true, false or absent Content-Length, or chunked), slow bodies
// (the count is of bytes delivered, whatever the pace), hash-flooding and
// CPU cost through many fields, file-descriptor and memory exhaustion
// through many file parts (CVE-2023-24580), and memory exhaustion through
// huge part headers.
//
// It does not stop slowloris-style attacks on time (use the server's
// ReadTimeout / ReadHeaderTimeout), does not bound the request headers
// (http.Server.MaxHeaderBytes), and cannot bound a body that application
// code reads from the connection without going through r.Body. Handlers
// that read bodies must treat an *Error from r.Body, ParseForm, ParseQuery
// or ReadBody as a refusal: WriteError answers it with the right status and
// the one refusal event.
package limits
