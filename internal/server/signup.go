package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/tenantry/tenantry/internal/auth"
)

// withSignup runs the signup logic (identity.Lazy) for a signed-in caller before the request
// proceeds, so that a user whose blocking function and background function never ran is a member
// of the tenants that invited them by the time their first query runs. A failure is logged and
// the request goes on: the user may simply not see a membership yet, and the next request retries.
func withSignup(hook func(context.Context, auth.Principal) error, next http.Handler) http.Handler {
	if hook == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, ok := auth.FromContext(r.Context()); ok {
			if err := hook(r.Context(), p); err != nil {
				slog.WarnContext(r.Context(), "signup logic failed on first request; the next request retries it", "uid", p.UID, "error", err.Error())
			}
		}
		next.ServeHTTP(w, r)
	})
}
