package members

import (
	"context"
	"crypto/rand"
	"slices"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// Defaults.
const (
	DefaultExpiryDays = 7
	MinExpiryDays     = 1
	MaxExpiryDays     = 30
	// DefaultMaxBatch bounds inviteMembers, and is also its ceiling: one transaction writes four
	// documents per email (invitation, token index, email, audit entry) plus the tenant and at
	// most ScanLimit expired invitations, and Firestore allows 500 writes per commit.
	DefaultMaxBatch = 100
	// listLimit bounds Tenant.invitations; a tenant's invitations are bounded by its plan's
	// pending limit plus its history, which the SPA pages through Firestore if it wants more.
	listLimit = 200
	// signupLimit bounds how many pending invitations one signup accepts.
	signupLimit = 50
	// DefaultAddressLimit emails per DefaultAddressWindow may go to one address from one tenant:
	// an invitation and two resends (or re-invitations) a day.
	DefaultAddressLimit  = 3
	DefaultAddressWindow = 24 * time.Hour
)

// Limiter is a per-subject rate limiter (ratelimit.Keyed is one, per replica; ratelimit.Shared
// another, across replicas).
type Limiter interface {
	// Spend spends n tokens of subject's bucket, once per requestKey: a transaction that retries
	// asks again with the same key and spends nothing more. When it refuses, wait is how long
	// until n tokens are there, negative when n is more than the bucket ever holds. An error
	// (the shared store did not answer) admits nothing.
	Spend(ctx context.Context, subject, requestKey string, n int) (ok bool, wait time.Duration, err error)
}

// Limits are the limits on invitation emails (held across replicas in production, see
// internal/app); a nil limiter means no limit. Each counts emails, not calls or addresses: a batch of n new invitations costs n, a
// resend 1, an invitation returned as it was 0. They are spent inside the transaction, once the
// caller is known to be allowed, so nobody can spend another's budget. The limit per address and
// tenant is durable instead (Config.AddressLimit, sendlimit.go).
type Limits struct {
	PerInviter    Limiter // emails sent by one user
	PerTenant     Limiter // emails sent from one tenant, whoever sends them
	PerInvitation Limiter // resends of one invitation
}

// Config tunes the domain; zero values take the defaults.
type Config struct {
	DefaultExpiryDays int // 1 to 30; default 7
	MaxBatch          int // emails per inviteMembers call; default 100
	// AddressLimit emails (invitations, re-invitations, resends) may go to one address from one
	// tenant per AddressWindow; default 3 per 24 hours.
	AddressLimit  int
	AddressWindow time.Duration
	// AppRoles are the app roles the application declares (tenantry.app.yaml); none when
	// empty, and then every app role is refused.
	AppRoles []string
	// ImportRetention is how long an importMembers call's report answers its retries; default
	// DefaultImportRetention.
	ImportRetention time.Duration
}

// Service is the members domain.
type Service struct {
	store    Store
	tenancy  *tenancy.Service
	plans    *plans.Catalog
	clock    clock.Clock
	limits   Limits
	cfg      Config
	newID    func() string
	newToken func() (string, error)
	domains  DomainEnroller // domain capture at signup (domainhook.go); nil: none
}

// NewService builds the members domain on top of the tenant domain, whose Authorize it uses for
// reads (writes check the policy inside their own transactions).
func NewService(store Store, ten *tenancy.Service, clk clock.Clock, limits Limits, cfg Config) *Service {
	if cfg.DefaultExpiryDays < MinExpiryDays || cfg.DefaultExpiryDays > MaxExpiryDays {
		cfg.DefaultExpiryDays = DefaultExpiryDays
	}
	if cfg.MaxBatch < 1 || cfg.MaxBatch > DefaultMaxBatch {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.AddressLimit < 1 || cfg.AddressWindow <= 0 {
		cfg.AddressLimit, cfg.AddressWindow = DefaultAddressLimit, DefaultAddressWindow
	}
	if cfg.ImportRetention <= 0 {
		cfg.ImportRetention = DefaultImportRetention
	}
	cfg.AppRoles = slices.Clone(cfg.AppRoles)
	return &Service{
		store: announcingStore{Store: store, events: ten.Events()}, tenancy: ten, plans: ten.Plans(), clock: clk, limits: limits, cfg: cfg,
		newID: rand.Text, newToken: NewToken,
	}
}

// NewToken returns 32 random bytes, URL-safe base64 without padding (43 characters): the secret
// of an invitation link.
func NewToken() (string, error) { return tenancy.NewInvitationToken() }

// HashToken is what is stored of a token: its hex SHA-256. A 256-bit random token needs no salt
// or slow hash: nothing smaller than the token itself can be guessed from the hash.
func HashToken(token string) string { return tenancy.HashInvitationToken(token) }

// expiryFor is the tenant's invitation lifetime.
func (s *Service) expiryFor(t TenantState) time.Duration {
	days := t.InvitationExpiryDays
	if days < MinExpiryDays || days > MaxExpiryDays {
		days = s.cfg.DefaultExpiryDays
	}
	return time.Duration(days) * 24 * time.Hour
}

// pendingLimit is the plan's limit on pending invitations; a plan retired from the catalog falls
// back to the seat cap, which bounds pending invitations anyway.
func (s *Service) pendingLimit(t TenantState) int {
	if p, ok := s.plans.Get(t.PlanID); ok {
		return p.PendingInvitationLimit
	}
	return t.SeatCap
}

// ---------------------------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------------------------

// rank orders roles: owner > admin > manager > member > viewer.
func rank(r rules.Role) int {
	if i := slices.Index(rules.Roles, r); i >= 0 {
		return len(rules.Roles) - i
	}
	return 0
}

// roleMayTake reports whether the action table lists role for action, whatever the status.
func roleMayTake(role rules.Role, action rules.Action) bool {
	for _, p := range rules.ActionTable {
		if p.Action == action {
			return slices.Contains(p.Roles, role)
		}
	}
	return false
}

// canGrant says whether a member with role actor may hand out role r, by invitation or role
// change. Nobody grants owner (ownership moves only by transferOwnership) or a role above their
// own; a manager, who may invite but not manage members, hands out only member and viewer.
func canGrant(actor, r rules.Role) bool {
	if r == rules.RoleOwner || !rules.ValidRole(r) {
		return false
	}
	if actor == rules.RoleManager {
		return rank(r) < rank(rules.RoleManager)
	}
	return roleMayTake(actor, rules.InviteMembers) && rank(r) <= rank(actor)
}

func grantError(actor, r rules.Role) error {
	if r == rules.RoleOwner {
		return errs.Detail(errs.ErrForbidden, "nobody can be invited or promoted as owner; the owner hands the organization over with transferOwnership")
	}
	if actor == rules.RoleManager {
		return errs.Detail(errs.ErrForbidden, "a manager can invite only members and viewers; ask an owner or admin to invite a %s", r)
	}
	return errs.Detail(errs.ErrForbidden, "you cannot grant the role %s, which is above your own (%s); ask an owner", r, actor)
}

// notMember is the answer to a caller who has no membership in the tenant: NOT_FOUND, so the
// tenant's existence does not leak, except for platform staff, who may see any tenant and are
// told where to act instead.
func notMember(ctx context.Context) error {
	if p, ok := auth.FromContext(ctx); ok && p.PlatformRole.IsStaff() {
		return errs.Detail(errs.ErrForbidden, "platform staff are not members of this organization; ask one of its owners or admins to manage its members")
	}
	return errs.ErrNotFound
}

// principalFor returns the signed-in caller after checking that each id the client sent could
// name a document; one that could not is NOT_FOUND, exactly like an id that names nothing.
func principalFor(ctx context.Context, ids ...string) (auth.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	for _, id := range ids {
		if _, err := validate.ID("id", id); err != nil {
			return auth.Principal{}, errs.ErrNotFound
		}
	}
	return p, nil
}

func principal(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.UID == "" {
		return auth.Principal{}, errs.ErrUnauthenticated
	}
	return p, nil
}

// requireVerifiedSender refuses an inviter whose email address is not verified: an invitation
// email quotes the inviter's address, and an unverified address may belong to someone else.
func requireVerifiedSender(p auth.Principal) error {
	if !p.EmailVerified {
		return errs.Detail(errs.ErrForbidden, "verify your email address first (follow the link in the verification email), then sign in again and send the invitation: invitation emails show your address to the people you invite")
	}
	return nil
}
