package audit_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
)

// TestScanFixFamilies scans the same weak page behind different servers:
// the fix texts follow what the scan saw (the Server header, cookie
// names), and a site that is not Bulwark is never told about Bulwark's
// configuration keys.
func TestScanFixFamilies(t *testing.T) {
	tests := []struct {
		name     string
		server   string
		cookie   string
		families []audit.Family
		fix209   string // the fix of BW209 (no nosniff)
		fix215   string // the fix of BW215 (an insecure cookie), when a cookie is set
	}{
		{"unknown", "", "", []audit.Family{}, "send X-Content-Type-Options: nosniff", ""},
		{"nginx", "nginx/1.24.0", "", []audit.Family{audit.FamilyNginx}, "add_header X-Content-Type-Options nosniff always;", ""},
		{"caddy", "Caddy", "", []audit.Family{audit.FamilyCaddy}, "header X-Content-Type-Options nosniff", ""},
		{"django behind nginx", "nginx", "sessionid", []audit.Family{audit.FamilyNginx, audit.FamilyDjango},
			"add_header X-Content-Type-Options nosniff always;", "SESSION_COOKIE_SECURE = True; CSRF_COOKIE_SECURE = True"},
		{"django alone", "WSGIServer/0.2 CPython/3.13", "csrftoken", []audit.Family{audit.FamilyDjango},
			"SECURE_CONTENT_TYPE_NOSNIFF = True", "SESSION_COOKIE_SECURE = True; CSRF_COOKIE_SECURE = True"},
		{"bulwark", "", "__Host-csrftoken", []audit.Family{audit.FamilyBulwark}, "remove headers.insecure_allow_sniffing", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := carefulSite(t, nil, careful{headers: func(h http.Header, _ *http.Request) {
				h.Del("X-Content-Type-Options")
				if tc.server != "" {
					h.Set("Server", tc.server)
				}
				if tc.cookie != "" {
					secure := ""
					if strings.HasPrefix(tc.cookie, "__Host-") {
						secure = "; Secure"
					}
					h.Add("Set-Cookie", tc.cookie+"=x; Path=/; HttpOnly; SameSite=Lax"+secure)
				}
			}})
			rep := scan(t, s, audit.ScanOptions{})
			if !slices.Equal(rep.Families, tc.families) && !(len(rep.Families) == 0 && len(tc.families) == 0) {
				t.Errorf("families %v, want %v", rep.Families, tc.families)
			}
			fixes := map[string]string{}
			for _, f := range rep.Findings {
				fixes[f.ID] = f.Fix
				bulwarkSite := slices.Contains(tc.families, audit.FamilyBulwark)
				if !bulwarkSite && bulwarkKey.MatchString(f.Fix) {
					t.Errorf("%s on a %s site names a Bulwark key: %q", f.ID, tc.name, f.Fix)
				}
			}
			if fixes["BW209"] != tc.fix209 {
				t.Errorf("BW209 fix %q, want %q", fixes["BW209"], tc.fix209)
			}
			if tc.fix215 != "" && fixes["BW215"] != tc.fix215 {
				t.Errorf("BW215 fix %q, want %q", fixes["BW215"], tc.fix215)
			}
		})
	}
}
