package servicetokens

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
)

// errInvalid is the answer to a token that names no token or does not prove it: the same for
// both, so a caller learns nothing about which ids exist.
var errInvalid = errs.Detail(errs.ErrUnauthenticated, "the service token is not valid; copy it whole, as createServiceToken showed it, or ask an owner or admin for a new one")

// Authenticate checks a bearer token that starts with Prefix, on every request, against its
// document in Firestore: a revoked or expired token is refused at once on every replica. It
// returns the service caller, errs.ErrUnauthenticated (with a message that never repeats the
// token) or errs.ErrRateLimited. The token is never logged; its id may be.
func (s *Service) Authenticate(ctx context.Context, bearer string) (auth.Service, error) {
	id, secret, ok := parseBearer(bearer)
	if !ok {
		slog.InfoContext(ctx, "service token refused", "reason", "malformed")
		return auth.Service{}, errInvalid
	}
	t, err := s.store.Token(ctx, id)
	if errors.Is(err, errs.ErrNotFound) {
		slog.InfoContext(ctx, "service token refused", "reason", "unknown", "tokenId", id)
		return auth.Service{}, errInvalid
	}
	if err != nil {
		return auth.Service{}, err
	}
	if !secretMatches(secret, t.SecretHash) {
		slog.WarnContext(ctx, "service token refused", "reason", "wrong_secret", "tokenId", id)
		return auth.Service{}, errInvalid
	}
	now := s.clock.Now()
	switch {
	case t.Revoked():
		slog.InfoContext(ctx, "service token refused", "reason", "revoked", "tokenId", id)
		return auth.Service{}, errs.Detail(errs.ErrUnauthenticated, "this service token was revoked; ask an owner or admin of the organization for a new one")
	case t.ExpiredAt(now):
		slog.InfoContext(ctx, "service token refused", "reason", "expired", "tokenId", id)
		return auth.Service{}, errs.Detail(errs.ErrUnauthenticated, "this service token has expired; ask an owner or admin of the organization for a new one")
	}
	if s.limiter != nil && !s.limiter.Allow(id) {
		return auth.Service{}, errs.Detail(errs.ErrRateLimited, "too many requests with this service token; wait a few seconds and send the same request again (with the same idempotency key)")
	}
	if now.Sub(t.LastUsedAt) >= s.touch {
		// Best effort: a failed write must not fail the request, and the next one tries again.
		if err := s.store.TouchToken(ctx, id, now); err != nil {
			slog.WarnContext(ctx, "could not record a service token's use", "tokenId", id, "error", err.Error())
		}
	}
	return auth.Service{TokenID: t.ID, TokenName: t.Name, TenantID: t.TenantID, Scopes: t.Scopes}, nil
}
