package audit_test

import (
	"slices"
	"testing"

	"github.com/bulwarkdev/bulwark/audit"
	"github.com/bulwarkdev/bulwark/ratelimit"
)

func TestCheckRateLimits(t *testing.T) {
	login := ratelimit.Rule{Name: "login", Paths: []string{"/accounts/"}, Methods: []string{"POST"}, Rate: "5/h", CountStatuses: []int{200}}
	admin := ratelimit.Rule{Name: "admin", Paths: []string{"/admin/login/"}, Rate: "5/h", CountStatuses: []int{200}}
	site := ratelimit.Rule{Name: "site", Paths: []string{"/"}, Rate: "100/s"}
	tests := []struct {
		name  string
		rules []ratelimit.Rule
		want  []string
	}{
		{"none", nil, []string{"BW140"}},
		{"general only", []ratelimit.Rule{site}, []string{"BW140"}},
		{"login under a prefix", []ratelimit.Rule{site, login}, nil},
		{"admin login, any method", []ratelimit.Rule{admin}, nil},
		{"login rule for GET only", []ratelimit.Rule{{Name: "l", Paths: []string{"/accounts/login/"}, Methods: []string{"GET"}, Rate: "5/h", CountStatuses: []int{200}}}, []string{"BW140"}},
		{"login rule counting everything", []ratelimit.Rule{{Name: "l", Paths: []string{"/accounts/login/"}, Rate: "5/h"}}, []string{"BW140"}},
		{"header key alone", []ratelimit.Rule{login, {Name: "api", Paths: []string{"/api/"}, Rate: "5/s", Key: "header:X-Api-Key"}}, []string{"BW141"}},
		{"header key with an ip rule", []ratelimit.Rule{login, site, {Name: "api", Paths: []string{"/api/"}, Rate: "5/s", Key: "header:X-Api-Key"}}, nil},
		{"header key, ip rule for another method", []ratelimit.Rule{login,
			{Name: "ip", Paths: []string{"/api/"}, Methods: []string{"GET"}, Rate: "5/s"},
			{Name: "api", Paths: []string{"/api/"}, Rate: "5/s", Key: "cookie:sessionid"}}, []string{"BW141"}},
		{"fail closed everywhere", []ratelimit.Rule{login, {Name: "s", Paths: []string{"/"}, Rate: "5/s", FailClosed: true}}, []string{"BW142"}},
		{"fail closed on sign-in", []ratelimit.Rule{{Name: "l", Paths: []string{"/accounts/login/"}, Rate: "5/h", CountStatuses: []int{200}, FailClosed: true}}, nil},
		{"counts redirects", []ratelimit.Rule{{Name: "l", Paths: []string{"/accounts/login/"}, Rate: "5/h", CountStatuses: []int{200, 302}}}, []string{"BW143"}},
		{"ipv6 /128", []ratelimit.Rule{login, {Name: "s", Paths: []string{"/"}, Rate: "5/s", IPv6Prefix: 128}}, []string{"BW144"}},
		{"ipv6 /48", []ratelimit.Rule{login, {Name: "s", Paths: []string{"/"}, Rate: "5/s", IPv6Prefix: 48}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := hardened()
			d.Config.RateLimit = tt.rules
			d.Server = &audit.Server{UpstreamURL: "http://127.0.0.1:8000"}
			if got := ids(audit.CheckDeployment(d)); !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	// Without a server (a library deployment), none of these apply.
	d := hardened()
	d.Config.RateLimit = nil
	if got := ids(audit.CheckDeployment(d)); len(got) != 0 {
		t.Fatalf("library deployment: %v", got)
	}
}
