package servicetokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/reqctx"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// Audit actions of service tokens, in tenants/{id}/audit.
const (
	AuditCreated = "service_token.created"
	AuditRevoked = "service_token.revoked"
)

// Limits.
const (
	// MaxLifetime bounds expiresAt: a migration token should not outlive the migration by years.
	MaxLifetime = 2 * 365 * 24 * time.Hour
	// listLimit bounds Tenant.serviceTokens (newest first).
	listLimit = 200
	// DefaultTouchInterval is how often, at most, a token's lastUsedAt is written: once a minute
	// is precise enough for "when was this token last used" and keeps a busy import from writing
	// the token's document on every request.
	DefaultTouchInterval = time.Minute
)

// Access is what a token transaction reads about the caller: the tenant and their membership.
type Access struct {
	Tenant   tenancy.Tenant
	Member   tenancy.Member
	IsMember bool
}

// Store is the persistence of service tokens (top-level serviceTokens/{id}, server-owned: the
// rules match no client path there). Transactions follow the members store's shape: read, hand
// to decide, write what it returns; decide may run more than once.
type Store interface {
	// CreateToken reads the tenant (errs.ErrNotFound when there is none) and actorUID's
	// membership in it, and creates the token decide returns, with its audit entry.
	CreateToken(ctx context.Context, tenantID, actorUID string, decide func(Access) (Token, tenancy.AuditEntry, error)) error
	// RevokeToken reads token id (errs.ErrNotFound when there is none), its tenant and actorUID's
	// membership, and writes the token decide returns, with its audit entry when not nil.
	RevokeToken(ctx context.Context, id, actorUID string, decide func(Token, Access) (Token, *tenancy.AuditEntry, error)) error
	// Token reads one token (errs.ErrNotFound when there is none).
	Token(ctx context.Context, id string) (Token, error)
	// TenantTokens lists up to limit tokens of a tenant.
	TenantTokens(ctx context.Context, tenantID string, limit int) ([]Token, error)
	// TouchToken sets the token's lastUsedAt.
	TouchToken(ctx context.Context, id string, at time.Time) error
}

// Limiter is a per-subject rate limiter (ratelimit.Keyed is one).
type Limiter interface{ Allow(subject string) bool }

// Service is the service tokens' domain.
type Service struct {
	store   Store
	tenancy *tenancy.Service
	clock   clock.Clock
	limiter Limiter // requests per token; nil: no limit
	touch   time.Duration
}

// NewService builds the domain; limiter bounds the requests of each token (nil: unbounded).
func NewService(store Store, ten *tenancy.Service, clk clock.Clock, limiter Limiter) *Service {
	return &Service{store: store, tenancy: ten, clock: clk, limiter: limiter, touch: DefaultTouchInterval}
}

// CreateInput is createServiceToken's input.
type CreateInput struct {
	TenantID  string
	Name      string
	Scopes    []string
	ExpiresAt time.Time // zero: never
}

// Created is a new token: Bearer is its only appearance, shown once to its creator.
type Created struct {
	Bearer string
	Token  Token
}

// Create makes a token for a tenant (owners and admins, while the tenant is writable).
func (s *Service) Create(ctx context.Context, in CreateInput) (Created, error) {
	p, err := userCaller(ctx)
	if err != nil {
		return Created{}, err
	}
	if _, err := validate.ID("tenantId", in.TenantID); err != nil {
		return Created{}, errs.ErrNotFound
	}
	name, scopes, err := s.validateCreate(in)
	if err != nil {
		return Created{}, err
	}
	// A token is a credential for the tenant's data: ask the identity provider whether the
	// creator's sign-in still stands, as provisioning does.
	if err := auth.RequireFresh(ctx); err != nil {
		return Created{}, err
	}
	id, secret, bearer, err := newSecret()
	if err != nil {
		return Created{}, fmt.Errorf("create service token: %w", err)
	}
	var out Token
	err = s.store.CreateToken(ctx, in.TenantID, p.UID, func(a Access) (Token, tenancy.AuditEntry, error) {
		if err := s.check(ctx, a, rules.ManageServiceTokens); err != nil {
			return Token{}, tenancy.AuditEntry{}, err
		}
		now := s.clock.Now()
		out = Token{
			ID: id, TenantID: in.TenantID, Name: name, Scopes: scopes, CreatedAt: now, CreatedBy: p.UID,
			ExpiresAt: in.ExpiresAt, SecretHash: hashSecret(secret),
		}
		return out, s.audit(ctx, AuditCreated, now, out), nil
	})
	if err != nil {
		return Created{}, err
	}
	return Created{Bearer: bearer, Token: out}, nil
}

// validateCreate checks createServiceToken's name, scopes (trimmed, each once, in Scopes'
// order) and expiry.
func (s *Service) validateCreate(in CreateInput) (string, []string, error) {
	name, err := validate.Name(in.Name)
	if err != nil {
		return "", nil, err
	}
	var scopes []string
	for _, sc := range in.Scopes {
		sc = strings.TrimSpace(sc)
		if !IsScope(sc) {
			return "", nil, errs.Invalid("scopes", fmt.Sprintf("%q is not a scope; use %s", sc, strings.Join(Scopes, " or ")))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if len(scopes) == 0 {
		return "", nil, errs.Invalid("scopes", "grant at least one scope: "+strings.Join(Scopes, " or "))
	}
	sort.SliceStable(scopes, func(i, j int) bool { return slices.Index(Scopes, scopes[i]) < slices.Index(Scopes, scopes[j]) })
	now := s.clock.Now()
	if !in.ExpiresAt.IsZero() && (!in.ExpiresAt.After(now) || in.ExpiresAt.After(now.Add(MaxLifetime))) {
		return "", nil, errs.Invalid("expiresAt", "give a time in the future, at most two years ahead, or leave it out for a token that lasts until revoked")
	}
	return name, scopes, nil
}

// Revoke revokes a token at once on every replica (owners and admins, while the tenant is
// readable: revoking takes access away, so a read-only tenant's owner can revoke a leaked token).
// Revoking a revoked token returns it unchanged.
func (s *Service) Revoke(ctx context.Context, id string) (Token, error) {
	p, err := userCaller(ctx)
	if err != nil {
		return Token{}, err
	}
	if !validID(id) {
		return Token{}, errs.ErrNotFound
	}
	var out Token
	err = s.store.RevokeToken(ctx, id, p.UID, func(t Token, a Access) (Token, *tenancy.AuditEntry, error) {
		if err := s.check(ctx, a, rules.ReadServiceTokens); err != nil {
			return Token{}, nil, err
		}
		out = t
		if t.Revoked() {
			return t, nil, nil
		}
		now := s.clock.Now()
		out.RevokedAt, out.RevokedBy = now, p.UID
		entry := s.audit(ctx, AuditRevoked, now, out)
		return out, &entry, nil
	})
	return out, err
}

// List is Tenant.serviceTokens, newest first: owners and admins while the tenant is readable,
// and platform staff (names, scopes and times; a secret is never stored).
func (s *Service) List(ctx context.Context, tenantID string) ([]Token, error) {
	if _, err := s.tenancy.Authorize(ctx, tenantID, rules.ReadServiceTokens); err != nil {
		return nil, err
	}
	list, err := s.store.TenantTokens(ctx, tenantID, listLimit)
	if err != nil {
		return nil, fmt.Errorf("list service tokens of %s: %w", tenantID, err)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	return list, nil
}

// check applies the policy table to the caller of a token transaction.
func (s *Service) check(ctx context.Context, a Access, action rules.Action) error {
	if !a.IsMember {
		if p, _ := auth.FromContext(ctx); p.PlatformRole.IsStaff() {
			return errs.Detail(errs.ErrForbidden, "platform staff do not manage an organization's service tokens; ask one of its owners or admins")
		}
		return errs.ErrNotFound
	}
	err := rules.Check(a.Tenant.AccessStatus(s.clock.Now()), a.Member.Role, action)
	if errors.Is(err, errs.ErrForbidden) {
		return errs.Detail(errs.ErrForbidden, "only owners and admins manage service tokens; ask one of them")
	}
	return err
}

// audit is the audit entry of a change to token t (never its secret or hash).
func (s *Service) audit(ctx context.Context, action string, at time.Time, t Token) tenancy.AuditEntry {
	p, _ := auth.FromContext(ctx)
	details := map[string]any{"tokenId": t.ID, "name": t.Name, "scopes": t.Scopes}
	if !t.ExpiresAt.IsZero() {
		details["expiresAt"] = t.ExpiresAt
	}
	return tenancy.AuditEntry{
		Action: action, Actor: tenancy.Actor{UID: p.UID, PlatformRole: p.PlatformRole},
		RequestID: reqctx.RequestID(ctx), At: at, Reason: t.Name, Details: details,
	}
}

// userCaller is the signed-in user; a service token may not manage tokens.
func userCaller(ctx context.Context) (auth.Principal, error) {
	if _, ok := auth.ServiceFromContext(ctx); ok {
		return auth.Principal{}, errs.Detail(errs.ErrForbidden, "a service token cannot manage service tokens; an owner or admin signs in to do that")
	}
	p, ok := auth.FromContext(ctx)
	if !ok || p.UID == "" {
		return auth.Principal{}, errs.ErrUnauthenticated
	}
	return p, nil
}

// validID reports whether id has a token id's shape (anything else names no token).
func validID(id string) bool {
	_, _, ok := parseBearer(Prefix + id + "_" + strings.Repeat("A", secretLength))
	return ok
}
