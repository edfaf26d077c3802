package auth

import (
	"context"
	"slices"
)

// Service is a caller authenticated by a service token (`tnt_…`, see package servicetokens): an
// integration acting for one tenant within the token's scopes. It is kept under its own context
// key, never as a Principal, so no operation written for users can mistake it for one: to them
// the request is anonymous.
type Service struct {
	TokenID   string
	TokenName string
	TenantID  string
	Scopes    []string
}

// HasScope reports whether the token was granted scope.
func (s Service) HasScope(scope string) bool { return slices.Contains(s.Scopes, scope) }

// String is for logs: the token's id, never its secret.
func (s Service) String() string { return "serviceToken=" + s.TokenID + " tenant=" + s.TenantID }

type serviceKey struct{}

// WithService returns ctx carrying the service caller s.
func WithService(ctx context.Context, s Service) context.Context {
	return context.WithValue(ctx, serviceKey{}, s)
}

// ServiceFromContext returns the service caller, if the request carries a service token.
func ServiceFromContext(ctx context.Context) (Service, bool) {
	s, ok := ctx.Value(serviceKey{}).(Service)
	return s, ok
}
