package audit

import (
	"net/http"
	"slices"
	"strings"
)

// Family is a kind of server or application whose settings a fix text can
// name. A scan chooses the families from what the site showed (the Server
// header, cookie names), so that an nginx site is told about add_header
// and a Django site about its settings, never about Bulwark's keys.
type Family string

// Families a fix text can be written for.
const (
	// FamilyBulwark is the Bulwark gateway or library (its __Host-csrftoken
	// cookie, or no other family seen by a check).
	FamilyBulwark Family = "bulwark"
	// FamilyNginx is nginx (Server: nginx).
	FamilyNginx Family = "nginx"
	// FamilyCaddy is Caddy (Server: Caddy).
	FamilyCaddy Family = "caddy"
	// FamilyDjango is a Django application (its csrftoken or sessionid
	// cookie): the fix is a setting in settings.py.
	FamilyDjango Family = "django"
)

// Fixes are a rule's fix texts for particular families; an empty text
// means the rule's generic Fix applies.
type Fixes struct {
	Bulwark string `json:"bulwark,omitempty"`
	Nginx   string `json:"nginx,omitempty"`
	Caddy   string `json:"caddy,omitempty"`
	Django  string `json:"django,omitempty"`
}

// For returns the text for family f, "" when there is none.
func (x Fixes) For(f Family) string {
	switch f {
	case FamilyBulwark:
		return x.Bulwark
	case FamilyNginx:
		return x.Nginx
	case FamilyCaddy:
		return x.Caddy
	case FamilyDjango:
		return x.Django
	}
	return ""
}

// appLevel reports whether a scan rule is about what the application
// decides (cookies, CSRF, the host it trusts), where the application
// family's fix is more precise than the front server's.
func appLevel(r Rule) bool {
	switch r.Key {
	case "Set-Cookie", "Origin", "Host", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-For":
		return true
	}
	return false
}

// fixFor picks the fix text of rule r for a site of the given families
// (front server first, then application): the application's text first
// for application-level rules, else the front server's, else the generic
// one.
func fixFor(r Rule, families []Family) string {
	order := families
	if appLevel(r) {
		order = slices.Clone(families)
		slices.Reverse(order)
	}
	for _, f := range order {
		if t := r.Fixes.For(f); t != "" {
			return t
		}
	}
	return r.Fix
}

// detectFamilies names the front server (from Server) and the application
// (from its cookie names) of a site, front first. Unknown parts are left
// out: a site that shows nothing gets the generic fixes.
func detectFamilies(server string, cookies []string) []Family {
	var fs []Family
	s := strings.ToLower(server)
	switch {
	case strings.HasPrefix(s, "nginx") || strings.HasPrefix(s, "openresty"):
		fs = append(fs, FamilyNginx)
	case strings.HasPrefix(s, "caddy"):
		fs = append(fs, FamilyCaddy)
	}
	bulwark, django := false, false
	for _, c := range cookies {
		switch {
		case c == "__Host-csrftoken" || c == "__Secure-csrftoken":
			bulwark = true
		case c == "csrftoken" || c == "sessionid" || c == "django_language":
			django = true
		}
	}
	if bulwark && len(fs) == 0 {
		fs = append(fs, FamilyBulwark)
	}
	if django {
		fs = append(fs, FamilyDjango)
	}
	return fs
}

// cookieNames lists the names of the cookies set by the responses.
func cookieNames(resps ...*http.Response) []string {
	var names []string
	for _, r := range resps {
		if r == nil {
			continue
		}
		for _, c := range r.Cookies() {
			names = append(names, c.Name)
		}
	}
	return names
}
