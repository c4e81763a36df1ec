package bulwark_test

import (
	"context"
	"net"
	"net/http"

	"github.com/bulwarkdev/bulwark/headers"
	"github.com/bulwarkdev/bulwark/hosts"
	"github.com/bulwarkdev/bulwark/httpsonly"
)

func contextWithLocalAddr(ctx context.Context, a net.Addr) context.Context {
	return context.WithValue(ctx, http.LocalAddrContextKey, a)
}

func hostsConfig(allowed ...string) hosts.Config { return hosts.Config{Allowed: allowed} }

func httpsPreloadAlone() httpsonly.Config { return httpsonly.Config{HSTSPreload: true} }

func headersBadFrame() headers.Config { return headers.Config{FrameOptions: "ALLOWALL"} }
