package bulwark_test

import (
	"context"
	"net"
	"net/http"
)

func contextWithLocalAddr(ctx context.Context, a net.Addr) context.Context {
	return context.WithValue(ctx, http.LocalAddrContextKey, a)
}
