package demo

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// chromiumTrust is the shell line that adds the CA (%[1]s) to Chromium's
// NSS database on Linux, making the database first when Chromium has not
// run yet (certutil -A fails on a missing one).
const chromiumTrust = `mkdir -p $HOME/.pki/nssdb && { [ -e $HOME/.pki/nssdb/cert9.db ] || certutil -d sql:$HOME/.pki/nssdb -N --empty-password; } && certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n bulwark-demo -i %[1]s`

// printBanner tells the user where everything is and how to trust the CA.
func printBanner(w io.Writer, in Info, caCreated bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Bulwark demo is running.\n\n")
	fmt.Fprintf(tw, "  Site\t%s\t(the gateway, HTTPS)\n", in.SiteURL)
	fmt.Fprintf(tw, "  HTTP\t%s\t(redirects to HTTPS)\n", in.HTTPURL)
	fmt.Fprintf(tw, "  Media\t%s/\t(uploaded files, on another site)\n", in.MediaURL)
	fmt.Fprintf(tw, "  App\t%s\t(the sample app itself, loopback only)\n", in.AppURL)
	tw.Flush()
	fmt.Fprintf(w, "  Sign in  %s / %s\n", in.User, in.Password)

	fmt.Fprintf(w, "\nCA certificate: %s\n", in.CAFile)
	fmt.Fprintf(w, "  SHA-256 %s\n", in.CAFingerprint)
	if caCreated {
		fmt.Fprintf(w, "  (made now; later runs reuse it, so you trust it once)\n")
	}
	fmt.Fprintf(w, `  It can only vouch for localhost, *.localhost, 127.0.0.1 and ::1 (X.509
  name constraints), so trusting it does not let its key impersonate other sites.
  Trust it:
    curl        curl --cacert %[1]s %[2]s
    Node        NODE_EXTRA_CA_CERTS=%[1]s node app.js
    Go, Python  SSL_CERT_FILE=%[1]s (replaces the system roots for that process;
                REQUESTS_CA_BUNDLE for Python requests)
    Chromium    Settings > Privacy and security > Security > Manage certificates >
                Authorities > Import, or (certutil: Debian's libnss3-tools):
                `+chromiumTrust+`
    Firefox     Settings > Privacy & Security > Certificates > View Certificates >
                Authorities > Import
    Debian      sudo cp %[1]s /usr/local/share/ca-certificates/bulwark-demo.crt && sudo update-ca-certificates
    macOS       security add-trusted-cert -r trustRoot -k ~/Library/Keychains/login.keychain-db %[1]s
  Remove it from the same places when you are done.
`, in.CAFile, in.SiteURL)

	fmt.Fprintf(w, "\nHSTS: Strict-Transport-Security: max-age=%d.\n", int64(in.HSTSMaxAge/time.Second))
	if in.HSTSMaxAge < 180*24*time.Hour {
		fmt.Fprintf(w, `  Browsers apply HSTS to every port of a host, so a long max-age on localhost
  would force HTTPS on your other local servers; the demo keeps it short.
  Scanners want six months or more: pass --hsts-max-age 4380h to see full marks.
`)
	} else {
		fmt.Fprintf(w, `  Your browser will now insist on HTTPS for every port of localhost for that
  long. Undo it at chrome://net-internals/#hsts (Delete domain security
  policies: localhost) or, in Firefox, Forget About This Site.
`)
	}
	fmt.Fprintf(w, "\nPress Ctrl-C to stop.\n")
}
