package app

import (
	"context"
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/identity"
	"github.com/tenantry/tenantry/internal/jobs"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/ratelimit"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// JobExpireInvitations is the job that marks invitations past their expiry as expired.
const JobExpireInvitations = "expire-invitations"

// JobSweepDeletedUsers is the job that frees what deleted Firebase users held (the lazy path of
// the user.delete trigger).
const JobSweepDeletedUsers = "sweep-deleted-users"

// membersWiring is the members domain with the adapters of its signup logic that the server
// serves: the blocking functions and the lazy hook (functions/ serves the third, OnUserCreate).
type membersWiring struct {
	svc      *members.Service
	blocking *identity.Blocking // nil when not served
	lazy     *identity.Lazy
	deleted  *identity.Deletions // user.delete and its sweep
}

// wireMembers builds the members domain on the tenant domain and its limits on invitation emails
// (shared by the replicas in Firestore's rateLimits: each replica's own would let n replicas send
// n times the limit; the limit per address is kept on the invitation by the domain) and the app
// roles the declaration declares, and the identity adapters of the signup logic.
func wireMembers(cfg config.Config, st *store.Store, ten *tenancy.Service, clk clock.Clock, kick *outboxKicker, idw identityWiring, decl *appdecl.Declaration) membersWiring {
	svc := members.NewService(kickingMembersStore{st.MembersStore(), kick}, ten, clk, members.Limits{
		PerInviter:    ratelimit.NewShared(st.RateLimits(), "invite-inviter", cfg.InviteInterval, cfg.InviteBurst, clk.Now),
		PerTenant:     ratelimit.NewShared(st.RateLimits(), "invite-tenant", cfg.TenantInviteInterval, cfg.TenantInviteBurst, clk.Now),
		PerInvitation: ratelimit.NewShared(st.RateLimits(), "invite-resend", cfg.ResendInterval, cfg.ResendBurst, clk.Now),
	}, members.Config{
		DefaultExpiryDays: cfg.InvitationExpiryDays, MaxBatch: cfg.InviteBatchMax,
		AddressLimit: cfg.InviteAddressLimit, AddressWindow: cfg.InviteAddressWindow,
		AppRoles: declaredAppRoles(decl),
	})
	blocking := idw.blocking(cfg, svc)
	return membersWiring{svc: svc, blocking: blocking, lazy: identity.NewLazy(svc), deleted: identity.NewDeletions(idw.users, svc)}
}

// declaredAppRoles are the app roles the members domain may grant: the declaration's, none
// without one.
func declaredAppRoles(decl *appdecl.Declaration) []string {
	if app := appdecl.AppOf(decl); app != nil {
		return app.Roles
	}
	return nil
}

// expireJob frees the seats of invitations past their expiry. Every invitation transaction already
// ignores (and closes) its tenant's expired invitations, so the job only keeps the stored counter,
// which the SPA reads directly, close to the truth: every five minutes.
func (m membersWiring) expireJob() jobs.Job {
	return jobs.Job{
		Name:        JobExpireInvitations,
		Description: "mark pending invitations past their expiry as expired and free their seats; every 5 minutes",
		Interval:    5 * time.Minute,
		Run:         reporting(m.svc.ExpireInvitations),
	}
}

// sweepJob frees what deleted Firebase users held when the user.delete trigger missed them: it
// asks Auth about every users/ document, 100 at a time, so it runs daily.
func (m membersWiring) sweepJob() jobs.Job {
	return jobs.Job{
		Name:        JobSweepDeletedUsers,
		Description: "remove the memberships and pending invitations of Firebase users that no longer exist, freeing their seats; daily",
		Interval:    24 * time.Hour,
		Run:         reporting(m.deleted.Sweep),
	}
}

// reporting is a job's Run for a pass that reports its running totals and its result as text.
func reporting[R fmt.Stringer](pass func(ctx context.Context, progress func(R)) (R, error)) func(context.Context, func(string)) (string, error) {
	return func(ctx context.Context, progress func(string)) (string, error) {
		r, err := pass(ctx, func(r R) { progress(r.String() + " so far") })
		return r.String(), err
	}
}

// kickingMembersStore wakes this process's outbox dispatcher after a commit that may have queued
// an invitation email (an invitation or a resend), so the email leaves at once rather than at the
// next poll.
type kickingMembersStore struct {
	*store.MembersStore
	k *outboxKicker
}

// Invite implements members.Store.
func (s kickingMembersStore) Invite(ctx context.Context, read members.InviteRead, decide func(members.InviteState) (members.InvitePlan, error)) error {
	err := s.MembersStore.Invite(ctx, read, decide)
	if err == nil {
		s.k.kick()
	}
	return err
}

// ChangeInvitation implements members.Store.
func (s kickingMembersStore) ChangeInvitation(ctx context.Context, key members.InvitationKey, actorUID string, decide func(members.InvitationState) (members.InvitationChange, error)) error {
	err := s.MembersStore.ChangeInvitation(ctx, key, actorUID, decide)
	if err == nil {
		s.k.kick()
	}
	return err
}
