package gateway

import (
	"io"
	"net/http"
	"time"
)

func isSafeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// closeLater closes what an old tree opened once requests still running in
// it have had the drain time to finish.
func closeLater(cs []io.Closer, after time.Duration) {
	if len(cs) == 0 {
		return
	}
	time.AfterFunc(after, func() {
		for _, c := range cs {
			c.Close()
		}
	})
}
