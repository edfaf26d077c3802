package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// Collections of the members domain.
const (
	colInvitations     = "invitations"      // tenants/{t}/invitations/{invitationId}
	colInvitationToken = "invitationTokens" // invitationTokens/{sha256(token)} -> {tenantId, invitationId}
)

// inQueryLimit is how many values Firestore takes in one "in" filter.
const inQueryLimit = 30

// txAttempts bounds the retries of a members transaction. Every invitation writes its tenant's
// document, so concurrent invitations into one tenant queue on that document and a burst of them
// aborts and retries more often than the client's default of 5 allows.
const txAttempts = 40

// MembersStore implements members.Store on Firestore.
//
// Queries and the indexes they need (firestore.indexes.json):
//   - earliest in a tenant:  invitations where status ==, order by expiresAt    (status, expiresAt)
//   - pending count:         invitations where status ==, expiresAt > (count)   (status, expiresAt)
//   - due, every tenant:     group invitations where status ==, expiresAt <=, order by expiresAt
//     (status, expiresAt), collection-group scope
//   - to an email:           group invitations where email ==                   email field override, collection-group scope
//   - listing:               invitations where status in, order by createdAt desc (status, createdAt desc)
type MembersStore struct {
	fs    *firestore.Client
	locks *tenantLocks
}

// MembersStore returns the members persistence on the same client, whose transactions queue
// per tenant with all of s's (see tenantLocks).
func (s *Store) MembersStore() *MembersStore { return &MembersStore{fs: s.fs, locks: s.locks} }

// NewMembersStore wraps a Firestore client in a Store of its own, as another replica has.
func NewMembersStore(fs *firestore.Client) *MembersStore { return New(fs).MembersStore() }

var _ members.Store = (*MembersStore)(nil)

// invitationDoc is tenants/{t}/invitations/{id}. email, role, status and expiresAt are what the SPA
// reads (see the contract); the token is kept only as its hash.
type invitationDoc struct {
	TenantID   string    `firestore:"tenantId"`
	Email      string    `firestore:"email"`
	Role       string    `firestore:"role"`
	Status     string    `firestore:"status"`
	ExpiresAt  time.Time `firestore:"expiresAt"`
	TokenHash  string    `firestore:"tokenHash"`
	InvitedBy  string    `firestore:"invitedBy"`
	CreatedAt  time.Time `firestore:"createdAt"`
	SentAt     time.Time `firestore:"sentAt"`
	Resends    int       `firestore:"resends"`
	AcceptedBy string    `firestore:"acceptedBy,omitempty"`
	AcceptedAt time.Time `firestore:"acceptedAt,omitempty"`
	RevokedBy  string    `firestore:"revokedBy,omitempty"`
	ClosedAt   time.Time `firestore:"closedAt,omitempty"`
	// Sends are the times of the emails to this address from this tenant within the send window
	// (members.Config.AddressWindow); every invitation of the address rewrites this document.
	Sends []time.Time `firestore:"sends,omitempty"`
}

func toDBInvitation(i members.Invitation) invitationDoc {
	return invitationDoc{
		TenantID: i.TenantID, Email: i.Email, Role: string(i.Role), Status: string(i.Status),
		ExpiresAt: i.ExpiresAt, TokenHash: i.TokenHash, InvitedBy: i.InvitedBy, CreatedAt: i.CreatedAt,
		SentAt: i.SentAt, Resends: i.Resends, Sends: i.Sends, AcceptedBy: i.AcceptedBy, AcceptedAt: i.AcceptedAt,
		RevokedBy: i.RevokedBy, ClosedAt: i.ClosedAt,
	}
}

func toInvitation(snap *firestore.DocumentSnapshot) (members.Invitation, error) {
	var d invitationDoc
	if err := snap.DataTo(&d); err != nil {
		return members.Invitation{}, fmt.Errorf("decode %s: %w", snap.Ref.Path, err)
	}
	tenantID := d.TenantID
	if tenantID == "" && snap.Ref.Parent != nil && snap.Ref.Parent.Parent != nil {
		tenantID = snap.Ref.Parent.Parent.ID
	}
	return members.Invitation{
		ID: snap.Ref.ID, TenantID: tenantID, Email: d.Email, Role: rules.Role(d.Role),
		Status: members.Status(d.Status), ExpiresAt: d.ExpiresAt, TokenHash: d.TokenHash,
		InvitedBy: d.InvitedBy, CreatedAt: d.CreatedAt, SentAt: d.SentAt, Resends: d.Resends, Sends: d.Sends,
		AcceptedBy: d.AcceptedBy, AcceptedAt: d.AcceptedAt, RevokedBy: d.RevokedBy, ClosedAt: d.ClosedAt,
	}, nil
}

// tokenIndexDoc is invitationTokens/{hash}: it finds the invitation a link belongs to without a
// collection-group query, and is never readable by clients (no rule matches it).
type tokenIndexDoc struct {
	TenantID     string    `firestore:"tenantId"`
	InvitationID string    `firestore:"invitationId"`
	CreatedAt    time.Time `firestore:"createdAt"`
}

func (m *MembersStore) tenantRef(id string) *firestore.DocumentRef {
	return m.fs.Collection(colTenants).Doc(id)
}

func (m *MembersStore) invitations(tenantID string) *firestore.CollectionRef {
	return m.tenantRef(tenantID).Collection(colInvitations)
}

func (m *MembersStore) memberRef(tenantID, uid string) *firestore.DocumentRef {
	return m.tenantRef(tenantID).Collection(colMembers).Doc(uid)
}

// toTenantState decodes the tenant with the members domain's own setting on it.
func toTenantState(snap *firestore.DocumentSnapshot) (members.TenantState, error) {
	var d tenantDoc
	if err := snap.DataTo(&d); err != nil {
		return members.TenantState{}, fmt.Errorf("decode tenant %s: %w", snap.Ref.ID, err)
	}
	st := members.TenantState{Tenant: toTenant(snap.Ref.ID, d)}
	if v, err := snap.DataAt("invitationExpiryDays"); err == nil {
		if n, ok := v.(int64); ok {
			st.InvitationExpiryDays = int(n)
		}
	}
	return st, nil
}

func toMemberOf(snap *firestore.DocumentSnapshot, tenantID string) (tenancy.Member, error) {
	var d memberDoc
	if err := snap.DataTo(&d); err != nil {
		return tenancy.Member{}, fmt.Errorf("decode member %s: %w", snap.Ref.Path, err)
	}
	return toMember(tenantID, snap.Ref.ID, d), nil
}

// run is a members transaction on tenantID, after this process's earlier ones on it: decide's
// errNoop commits nothing and is no error.
func (m *MembersStore) run(ctx context.Context, tenantID string, f func(context.Context, *firestore.Transaction) error) error {
	err := m.locks.runTransaction(ctx, m.fs, tenantID, f, firestore.MaxAttempts(txAttempts))
	if members.ErrNoop(err) {
		return nil
	}
	return err
}

// Invite implements members.Store. In the common case it is three point reads in one round trip
// (tenant, inviter, the address's invitation document) and one commit; the expired-invitation scan
// runs only when the tenant's pendingExpiryFloor has passed.
func (m *MembersStore) Invite(ctx context.Context, tenantID, inviterUID string, emails []string, now time.Time, decide func(members.InviteState) (members.InvitePlan, error)) error {
	tref := m.tenantRef(tenantID)
	invCol := tref.Collection(colInvitations)
	refs := []*firestore.DocumentRef{tref, m.memberRef(tenantID, inviterUID)}
	for _, e := range emails {
		refs = append(refs, invCol.Doc(members.InvitationID(tenantID, e)))
	}
	return m.run(ctx, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll(refs)
		if err != nil {
			return fmt.Errorf("read tenant %s: %w", tenantID, err)
		}
		if !snaps[0].Exists() {
			return errs.ErrNotFound
		}
		ts, err := toTenantState(snaps[0])
		if err != nil {
			return err
		}
		st := members.InviteState{Tenant: ts, Existing: map[string]members.Invitation{}}
		if snaps[1].Exists() {
			if st.Inviter, err = toMemberOf(snaps[1], tenantID); err != nil {
				return err
			}
			st.InviterFound = true
		}
		for _, snap := range snaps[2:] {
			if !snap.Exists() {
				continue
			}
			inv, err := toInvitation(snap)
			if err != nil {
				return err
			}
			st.Existing[inv.Email] = inv
		}
		if st.ScanDue(now) {
			q := invCol.Where("status", "==", string(members.StatusPending)).OrderBy("expiresAt", firestore.Asc).Limit(members.ScanLimit)
			earliest, err := tx.Documents(q).GetAll()
			if err != nil {
				return fmt.Errorf("list the earliest pending invitations of %s: %w", tenantID, err)
			}
			st.Scanned = true
			for _, s := range earliest {
				inv, err := toInvitation(s)
				if err != nil {
					return err
				}
				st.Earliest = append(st.Earliest, inv)
			}
		}

		plan, err := decide(st)
		if err != nil {
			return err
		}
		for _, inv := range plan.Expire {
			if err := tx.Update(invCol.Doc(inv.ID), []firestore.Update{
				{Path: "status", Value: string(inv.Status)},
				{Path: "closedAt", Value: inv.ClosedAt},
			}); err != nil {
				return fmt.Errorf("expire invitation %s: %w", inv.ID, err)
			}
		}
		for _, n := range plan.Create {
			inv := n.Invitation
			// Set, not Create: an address's earlier invitation (revoked, expired or used) is
			// replaced; the transaction read it, so nothing newer is overwritten.
			if err := tx.Set(invCol.Doc(inv.ID), toDBInvitation(inv)); err != nil {
				return fmt.Errorf("write invitation %s: %w", inv.ID, err)
			}
			if err := tx.Create(m.fs.Collection(colInvitationToken).Doc(inv.TokenHash),
				tokenIndexDoc{TenantID: tenantID, InvitationID: inv.ID, CreatedAt: plan.At}); err != nil {
				return fmt.Errorf("index invitation token: %w", err)
			}
			if err := tx.Create(m.fs.Collection(colOutbox).Doc(n.Email.ID), toDBOutbox(n.Email)); err != nil {
				return fmt.Errorf("write outbox entry %s: %w", n.Email.ID, err)
			}
		}
		if err := m.writeAudit(tx, tenantID, plan.Audit); err != nil {
			return err
		}
		return tx.Update(tref, []firestore.Update{
			{Path: "pendingInvitations", Value: plan.PendingInvitations},
			{Path: "membersChangedAt", Value: plan.At},
			pendingExpiryFloorUpdate(plan.PendingExpiryFloor),
		})
	})
}

// MemberEmails implements members.Store.
func (m *MembersStore) MemberEmails(ctx context.Context, tenantID string, emails []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, chunk := range chunks(emails, inQueryLimit) {
		found, err := m.tenantRef(tenantID).Collection(colMembers).Where("email", "in", chunk).Select("email").Documents(ctx).GetAll()
		if err != nil {
			return nil, fmt.Errorf("look up members of %s by email: %w", tenantID, err)
		}
		for _, s := range found {
			if e, err := s.DataAt("email"); err == nil {
				if e, ok := e.(string); ok {
					out[e] = true
				}
			}
		}
	}
	return out, nil
}

// ChangeInvitation implements members.Store.
func (m *MembersStore) ChangeInvitation(ctx context.Context, key members.InvitationKey, actorUID string, decide func(members.InvitationState) (members.InvitationChange, error)) error {
	k := key
	if k.TokenHash != "" {
		// The index is create-only and never changes, so it is read before the transaction,
		// which then knows its tenant and queues behind this process's others on it.
		var d tokenIndexDoc
		if err := get(ctx, m.fs.Collection(colInvitationToken).Doc(k.TokenHash), &d); err != nil {
			return err
		}
		k.TenantID, k.ID = d.TenantID, d.InvitationID
	}
	return m.run(ctx, k.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		tref := m.tenantRef(k.TenantID)
		iref := tref.Collection(colInvitations).Doc(k.ID)
		refs := []*firestore.DocumentRef{tref, iref}
		if actorUID != "" {
			refs = append(refs, m.memberRef(k.TenantID, actorUID))
		}
		snaps, err := tx.GetAll(refs)
		if err != nil {
			return fmt.Errorf("read invitation %s: %w", k.ID, err)
		}
		if !snaps[0].Exists() || !snaps[1].Exists() {
			return errs.ErrNotFound
		}
		var st members.InvitationState
		if st.Tenant, err = toTenantState(snaps[0]); err != nil {
			return err
		}
		if st.Invitation, err = toInvitation(snaps[1]); err != nil {
			return err
		}
		if actorUID != "" && snaps[2].Exists() {
			if st.Actor, err = toMemberOf(snaps[2], k.TenantID); err != nil {
				return err
			}
			st.ActorFound = true
		}
		if st.Invitation.Role == rules.RoleOwner {
			// A tenant has one owner: a small query, and only for the rare owner invitation.
			owners, err := tx.Documents(tref.Collection(colMembers).Where("role", "==", string(rules.RoleOwner))).GetAll()
			if err != nil {
				return fmt.Errorf("read the owners of %s: %w", k.TenantID, err)
			}
			for _, o := range owners {
				owner, err := toMemberOf(o, k.TenantID)
				if err != nil {
					return err
				}
				st.Owners = append(st.Owners, owner)
			}
		}
		ch, err := decide(st)
		if err != nil {
			return err
		}
		if err := tx.Set(iref, toDBInvitation(ch.Invitation)); err != nil {
			return fmt.Errorf("write invitation %s: %w", k.ID, err)
		}
		if ch.NewTokenHash != "" {
			if err := tx.Create(m.fs.Collection(colInvitationToken).Doc(ch.NewTokenHash),
				tokenIndexDoc{TenantID: k.TenantID, InvitationID: k.ID, CreatedAt: ch.At}); err != nil {
				return fmt.Errorf("index invitation token: %w", err)
			}
		}
		for _, mb := range ch.SetRole {
			if err := tx.Update(m.memberRef(k.TenantID, mb.UID), []firestore.Update{{Path: "role", Value: string(mb.Role)}}); err != nil {
				return fmt.Errorf("set role of %s: %w", mb.UID, err)
			}
		}
		if nm := ch.AddMember; nm != nil {
			if err := tx.Create(m.memberRef(k.TenantID, nm.UID), toDBMember(*nm)); err != nil {
				return fmt.Errorf("create member %s: %w", nm.UID, err)
			}
			if err := tx.Set(m.fs.Collection(colUsers).Doc(nm.UID), map[string]any{
				"email":     nm.Email,
				"tenantIds": firestore.ArrayUnion(k.TenantID),
				"updatedAt": ch.At,
			}, firestore.MergeAll); err != nil {
				return fmt.Errorf("link user %s: %w", nm.UID, err)
			}
		}
		for _, e := range ch.Outbox {
			if err := tx.Create(m.fs.Collection(colOutbox).Doc(e.ID), toDBOutbox(e)); err != nil {
				return fmt.Errorf("write outbox entry %s: %w", e.ID, err)
			}
		}
		if err := m.writeAudit(tx, k.TenantID, ch.Audit); err != nil {
			return err
		}
		if ch.SeatsUsed == st.Tenant.SeatsUsed && ch.PendingInvitations == st.Tenant.PendingInvitations {
			return nil
		}
		return tx.Update(tref, []firestore.Update{
			{Path: "seatsUsed", Value: ch.SeatsUsed},
			{Path: "pendingInvitations", Value: ch.PendingInvitations},
			{Path: "membersChangedAt", Value: ch.At},
		})
	})
}

// ChangeMembers implements members.Store.
func (m *MembersStore) ChangeMembers(ctx context.Context, tenantID, actorUID, targetUID string, decide func(members.MembersState) (members.MembersChange, error)) error {
	tref := m.tenantRef(tenantID)
	return m.run(ctx, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		refs := []*firestore.DocumentRef{tref, m.memberRef(tenantID, actorUID)}
		if targetUID != actorUID {
			refs = append(refs, m.memberRef(tenantID, targetUID))
		}
		snaps, err := tx.GetAll(refs)
		if err != nil {
			return fmt.Errorf("read members of %s: %w", tenantID, err)
		}
		if targetUID == actorUID {
			snaps = append(snaps, snaps[1]) // leaving: the actor is the target
		}
		if !snaps[0].Exists() {
			return errs.ErrNotFound
		}
		var st members.MembersState
		if st.Tenant, err = toTenantState(snaps[0]); err != nil {
			return err
		}
		if snaps[1].Exists() {
			if st.Actor, err = toMemberOf(snaps[1], tenantID); err != nil {
				return err
			}
			st.ActorFound = true
		}
		if snaps[2].Exists() {
			if st.Target, err = toMemberOf(snaps[2], tenantID); err != nil {
				return err
			}
			st.TargetFound = true
		}
		ch, err := decide(st)
		if err != nil {
			return err
		}
		for _, mb := range ch.SetRole {
			if err := tx.Update(m.memberRef(tenantID, mb.UID), []firestore.Update{{Path: "role", Value: string(mb.Role)}}); err != nil {
				return fmt.Errorf("set role of %s: %w", mb.UID, err)
			}
		}
		if ch.Remove != "" {
			if err := tx.Delete(m.memberRef(tenantID, ch.Remove)); err != nil {
				return fmt.Errorf("remove member %s: %w", ch.Remove, err)
			}
			if err := tx.Set(m.fs.Collection(colUsers).Doc(ch.Remove), map[string]any{
				"tenantIds": firestore.ArrayRemove(tenantID),
				"updatedAt": ch.At,
			}, firestore.MergeAll); err != nil {
				return fmt.Errorf("unlink user %s: %w", ch.Remove, err)
			}
		}
		if err := m.writeAudit(tx, tenantID, ch.Audit); err != nil {
			return err
		}
		// The tenant is written by every membership change, even a role change that moves no
		// counter: that write is what makes two concurrent changes conflict (and one of them
		// retry on fresh reads) instead of both acting on the same stale roles.
		ups := []firestore.Update{
			{Path: "seatsUsed", Value: ch.SeatsUsed},
			{Path: "membersChangedAt", Value: ch.At},
		}
		if ch.InvitationExpiryDays != 0 {
			ups = append(ups, firestore.Update{Path: "invitationExpiryDays", Value: ch.InvitationExpiryDays})
		}
		return tx.Update(tref, ups)
	})
}

// writeAudit adds a member change's audit entries to tx, in the lifecycle's format
// (tenants/{id}/audit/{auto}).
func (m *MembersStore) writeAudit(tx *firestore.Transaction, tenantID string, entries []tenancy.AuditEntry) error {
	for _, a := range entries {
		if err := tx.Create(m.tenantRef(tenantID).Collection(colAudit).NewDoc(), toDBAudit(a)); err != nil {
			return fmt.Errorf("write audit entry of %s: %w", tenantID, err)
		}
	}
	return nil
}

// Tenant implements members.Store.
func (m *MembersStore) Tenant(ctx context.Context, tenantID string) (members.TenantState, error) {
	snap, err := m.tenantRef(tenantID).Get(ctx)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return members.TenantState{}, errs.ErrNotFound
		}
		return members.TenantState{}, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	return toTenantState(snap)
}

// Invitation implements members.Store.
func (m *MembersStore) Invitation(ctx context.Context, tenantID, id string) (members.Invitation, error) {
	snap, err := m.invitations(tenantID).Doc(id).Get(ctx)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return members.Invitation{}, errs.ErrNotFound
		}
		return members.Invitation{}, fmt.Errorf("read invitation %s: %w", id, err)
	}
	return toInvitation(snap)
}

// Invitations implements members.Store.
func (m *MembersStore) Invitations(ctx context.Context, tenantID string, statuses []members.Status, limit int) ([]members.Invitation, error) {
	q := m.invitations(tenantID).Query
	if len(statuses) > 0 {
		vals := make([]string, len(statuses))
		for i, s := range statuses {
			vals[i] = string(s)
		}
		q = q.Where("status", "in", vals)
	}
	return queryAll(ctx, toInvitation, q.OrderBy("createdAt", firestore.Desc).Limit(limit), "invitations of "+tenantID)
}

// CountPendingUnexpired implements members.Store with a count aggregation.
func (m *MembersStore) CountPendingUnexpired(ctx context.Context, tenantID string, now time.Time) (int, error) {
	q := m.invitations(tenantID).Where("status", "==", string(members.StatusPending)).Where("expiresAt", ">", now)
	res, err := q.NewAggregationQuery().WithCount("n").Get(ctx)
	if err != nil {
		return 0, fmt.Errorf("count pending invitations of %s: %w", tenantID, err)
	}
	var out struct {
		N int64 `firestore:"n"`
	}
	if err := res.DataTo(&out); err != nil {
		return 0, fmt.Errorf("decode count of pending invitations of %s: %w", tenantID, err)
	}
	return int(out.N), nil
}

// PendingInvitationsTo implements members.Store. The query filters on email only (one
// collection-group field override) and the status is checked here: an address gets few
// invitations in its life.
func (m *MembersStore) PendingInvitationsTo(ctx context.Context, email string, limit int) ([]members.Invitation, error) {
	all, err := queryAll(ctx, toInvitation, m.fs.CollectionGroup(colInvitations).Where("email", "==", email).Limit(limit*4), "invitations to an address")
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, inv := range all {
		if inv.Status == members.StatusPending && len(out) < limit {
			out = append(out, inv)
		}
	}
	return out, nil
}

// DuePendingInvitations implements members.Store.
func (m *MembersStore) DuePendingInvitations(ctx context.Context, cutoff time.Time, limit int) ([]members.Invitation, error) {
	q := m.fs.CollectionGroup(colInvitations).
		Where("status", "==", string(members.StatusPending)).
		Where("expiresAt", "<=", cutoff).
		OrderBy("expiresAt", firestore.Asc).
		Limit(limit)
	return queryAll(ctx, toInvitation, q, "due invitations")
}

// signupDoc is the part of users/{uid} the signup logic owns.
type signupDoc struct {
	SignupAt       time.Time `firestore:"signupAt"`
	SignupVerified bool      `firestore:"signupVerified"`
}

// SignupState implements members.Store.
func (m *MembersStore) SignupState(ctx context.Context, uid string) (bool, bool, error) {
	snap, err := m.fs.Collection(colUsers).Doc(uid).Get(ctx)
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return false, false, nil
		}
		return false, false, fmt.Errorf("read users/%s: %w", uid, err)
	}
	var d signupDoc
	if err := snap.DataTo(&d); err != nil {
		return false, false, fmt.Errorf("decode users/%s: %w", uid, err)
	}
	return !d.SignupAt.IsZero(), d.SignupVerified, nil
}

// RecordSignup implements members.Store. It merges, so the tenantIds written by provisioning and
// acceptance stay, and an array union of nothing creates the field for a new user.
func (m *MembersStore) RecordSignup(ctx context.Context, u members.User, at time.Time) error {
	fields := map[string]any{
		"tenantIds":      firestore.ArrayUnion(),
		"signupAt":       at,
		"signupVerified": u.EmailVerified,
		"updatedAt":      at,
	}
	if u.Email != "" {
		fields["email"] = u.Email
	}
	if _, err := m.fs.Collection(colUsers).Doc(u.UID).Set(ctx, fields, firestore.MergeAll); err != nil {
		return fmt.Errorf("write users/%s: %w", u.UID, err)
	}
	return nil
}

func chunks(list []string, n int) [][]string {
	var out [][]string
	for len(list) > n {
		out = append(out, list[:n])
		list = list[n:]
	}
	if len(list) > 0 {
		out = append(out, list)
	}
	return out
}
