// Package localca makes and keeps a private certificate authority for
// serving HTTPS on loopback with no setup, the way mkcert does, but limited
// by X.509 name constraints to loopback names.
//
// A CA lives in a state directory (mode 0700) as two files, ca.pem and
// ca-key.pem (mode 0600). Open creates them on the first run and loads them
// on later runs, so a CA the user has chosen to trust keeps working. Issue
// signs short-lived ECDSA P-256 leaf certificates for the names the CA may
// vouch for and reuses a leaf on disk while it is valid for the same names.
//
// # Threat model
//
// Trusting a CA means trusting every certificate its key signs. A private CA
// whose key leaks (a backup, a shared home directory, malware reading files)
// lets whoever holds it impersonate any site to the machines that trust it.
// This package narrows that risk:
//
//   - The CA certificate carries critical name constraints: it may only
//     vouch for the DNS name localhost and its subdomains (*.localhost,
//     which RFC 6761 reserves for loopback) and the IP addresses 127.0.0.1
//     and ::1. A client that enforces name constraints (Go, Chromium,
//     Firefox, NSS, OpenSSL, Node) refuses a certificate for example.com
//     even when it is signed by the leaked key.
//   - Keys are written with mode 0600 in a directory of mode 0700, and an
//     existing directory or key readable by other users is refused rather
//     than silently used.
//   - Leaf certificates are short-lived (90 days) and renewed automatically.
//
// It does not protect against another program running as the same user,
// which can read the key; nor against clients that ignore name constraints.
// The CA has no revocation (no CRL or OCSP URL): a private CA trusted on one
// machine revokes by being removed from the trust store.
package localca
