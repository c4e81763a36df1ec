package audit

import (
	"slices"

	"github.com/bulwarkdev/bulwark/internal/pathset"
	"github.com/bulwarkdev/bulwark/ratelimit"
)

// djangoLogins are the sign-in views of a Django site: the admin's, and
// django.contrib.auth's conventional URL.
var djangoLogins = []string{"/admin/login/", "/accounts/login/"}

// checkRateLimits lints the [[rate_limit]] rules a server runs (invalid
// rules are BW001/BW101's, through validation).
func checkRateLimits(fs *[]Finding, rules []ratelimit.Rule) {
	covers := func(r ratelimit.Rule, method, path string) bool {
		set, err := pathset.Parse(r.Paths)
		return err == nil && set.Match(path) && (len(r.Methods) == 0 || slices.Contains(r.Methods, method))
	}
	loginCovered := false
	for _, r := range rules {
		if len(r.CountStatuses) > 0 && slices.ContainsFunc(djangoLogins, func(p string) bool { return covers(r, "POST", p) }) {
			loginCovered = true
		}
	}
	if !loginCovered {
		*fs = append(*fs, find("BW140", "no [[rate_limit]] rule with count_statuses covers POST /admin/login/ or /accounts/login/"))
	}
	for i, r := range rules {
		if r.Key != "" && r.Key != "ip" {
			byIP := func(p string) bool {
				for _, o := range rules {
					if (o.Key == "" || o.Key == "ip") && len(o.CountStatuses) == 0 {
						set, err := pathset.Parse(o.Paths)
						if err == nil && set.Match(p) && (len(o.Methods) == 0 || len(r.Methods) > 0 && !slices.ContainsFunc(r.Methods, func(m string) bool { return !slices.Contains(o.Methods, m) })) {
							return true
						}
					}
				}
				return false
			}
			if !slices.ContainsFunc(r.Paths, func(p string) bool { return !byIP(p) }) {
				continue
			}
			f := findf("BW141", "rate_limit[%d] (%q) has key = %q and no rule by IP covers all its paths", i, r.Name, r.Key)
			*fs = append(*fs, f)
		}
		if r.FailClosed && slices.Contains(r.Paths, "/") {
			*fs = append(*fs, findf("BW142", "rate_limit[%d] (%q) covers \"/\" and sets fail_closed", i, r.Name))
		}
		if slices.ContainsFunc(r.CountStatuses, func(st int) bool { return st >= 300 && st < 400 }) {
			*fs = append(*fs, findf("BW143", "rate_limit[%d] (%q) has count_statuses = %v", i, r.Name, r.CountStatuses))
		}
		if r.IPv6Prefix > 64 {
			*fs = append(*fs, findf("BW144", "rate_limit[%d] (%q) has ipv6_prefix = %d", i, r.Name, r.IPv6Prefix))
		}
	}
}
