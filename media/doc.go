// Package media serves stored user content safely: from its own site, with
// a content type fixed at upload time, and with headers that keep even a
// hostile file inert.
//
// New refuses a configuration whose media host shares a registrable
// domain (eTLD+1, by the public suffix list) with the site: Django's
// guide notes that a subdomain is not enough, because a subdomain is the
// same site (cookies scoped to the parent domain reach it, and it can set
// them).
//
// The Handler serves only configured media hosts (others: 404), only GET
// and HEAD, and only regular files under Dir, opened through os.Root: no
// "..", no symbolic link out of the root, no dotfile (sidecar metadata are
// dotfiles), no directory listing, no backslash, NUL or drive letter. The
// Content-Type comes from the metadata recorded at upload (a sidecar
// written by WriteSidecar, or the application's Lookup) and is never
// sniffed; without metadata a file is application/octet-stream. Every
// response carries X-Content-Type-Options: nosniff,
// Content-Security-Policy: default-src 'none'; sandbox,
// Cross-Origin-Resource-Policy, and Content-Disposition: inline only for
// raster images (PNG, JPEG, GIF, WebP, AVIF), attachment for everything
// else, SVG and HTML included, with the display name RFC 5987-encoded.
// Ranges, ETag and conditional requests go through http.ServeContent.
//
// # Threat model
//
// Stops: stored cross-site scripting from uploads (a file that is HTML,
// SVG with script, or a polyglot cannot run with the site's origin, and
// the sandbox CSP keeps it inert even on the media origin), content
// sniffing, path traversal and symlink escapes, disclosure of dotfiles
// and directory listings, header injection through display names.
//
// Does not stop: a wrong type recorded at upload (decide it with
// upload/inspect.File), attacks on the viewer's image decoder, hotlinking (set
// CrossOriginResourcePolicy to restrict embedding), or access control:
// whoever knows a name can fetch the file; use unguessable names (package
// upload's Storage does) and put authentication in front when content is
// private.
package media
