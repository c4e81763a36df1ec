// Package limitsrefusal lets the module's other packages answer a request
// refused by package limits with a logger of their own, through a function
// that is not part of limits' public API (applications use
// limits.WriteError, which finds the logger in the request).
package limitsrefusal

import (
	"log/slog"
	"net/http"
)

// Write answers r, refused for err, as the limits Handler does: the status
// of a *limits.Error (400 for any other error), the status text as body,
// "Connection: close", and one Info event on lg (nil means slog.Default())
// unless the Handler's body reader already logged it.
//
// Package limits sets it when it is initialised; every package that calls
// it imports limits (for limits.Error) and so is initialised after it.
var Write func(w http.ResponseWriter, r *http.Request, lg *slog.Logger, err error)
