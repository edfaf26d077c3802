package store

import (
	"context"
	"errors"
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
	// AppRoles are granted with the membership when the invitation is accepted.
	AppRoles []string `firestore:"appRoles,omitempty"`
}

func toDBInvitation(i members.Invitation) invitationDoc {
	return invitationDoc{
		TenantID: i.TenantID, Email: i.Email, Role: string(i.Role), Status: string(i.Status),
		ExpiresAt: i.ExpiresAt, TokenHash: i.TokenHash, InvitedBy: i.InvitedBy, CreatedAt: i.CreatedAt,
		SentAt: i.SentAt, Resends: i.Resends, Sends: i.Sends, AcceptedBy: i.AcceptedBy, AcceptedAt: i.AcceptedAt,
		RevokedBy: i.RevokedBy, ClosedAt: i.ClosedAt, AppRoles: i.AppRoles,
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
		AppRoles: d.AppRoles,
	}, nil
}

// tokenIndexDoc is invitationTokens/{hash}: it finds the invitation a link belongs to without a
// collection-group query, and is never readable by clients (no rule matches it).
type tokenIndexDoc struct {
	TenantID     string    `firestore:"tenantId"`
	InvitationID string    `firestore:"invitationId"`
	CreatedAt    time.Time `firestore:"createdAt"`
}

// createTokenIndex adds invitationTokens/{hash} to tx (create-only: a token is never reused).
func createTokenIndex(tx *firestore.Transaction, fs *firestore.Client, hash string, d tokenIndexDoc) error {
	if err := tx.Create(fs.Collection(colInvitationToken).Doc(hash), d); err != nil {
		return fmt.Errorf("index invitation token: %w", err)
	}
	return nil
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

// memberIn decodes a membership read in a transaction; found is false when there is none.
func memberIn(snap *firestore.DocumentSnapshot, tenantID string) (tenancy.Member, bool, error) {
	var d memberDoc
	found, err := decodeFound(snap, &d)
	if err != nil || !found {
		return tenancy.Member{}, false, err
	}
	return toMember(tenantID, snap.Ref.ID, d), true, nil
}

// tenantIn decodes the tenant read in a members transaction (errs.ErrNotFound when there is none).
func tenantIn(snap *firestore.DocumentSnapshot) (members.TenantState, error) {
	if !snap.Exists() {
		return members.TenantState{}, errs.ErrNotFound
	}
	return toTenantState(snap)
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
// runs only when InviteState.ScanDue.
func (m *MembersStore) Invite(ctx context.Context, read members.InviteRead, decide func(members.InviteState) (members.InvitePlan, error)) error {
	tenantID := read.TenantID
	refs := []*firestore.DocumentRef{m.tenantRef(tenantID)}
	if read.InviterUID != "" {
		refs = append(refs, m.memberRef(tenantID, read.InviterUID))
	}
	if read.ImportID != "" {
		refs = append(refs, m.fs.Collection(colIdempotency).Doc(read.ImportID))
	}
	for _, e := range read.Emails {
		refs = append(refs, m.invitations(tenantID).Doc(members.InvitationID(tenantID, e)))
	}
	return m.run(ctx, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		st, err := m.readInviteState(tx, read, refs)
		if err != nil {
			return err
		}
		plan, err := decide(st)
		if err != nil {
			return err
		}
		return m.writeInvitePlan(ctx, tx, tenantID, plan)
	})
}

// readInviteState reads what Invite hands to decide: refs are the tenant, the inviter's
// membership (when read names one), the import record (when read names one) and the addresses'
// invitation documents.
func (m *MembersStore) readInviteState(tx *firestore.Transaction, read members.InviteRead, refs []*firestore.DocumentRef) (members.InviteState, error) {
	tenantID := read.TenantID
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return members.InviteState{}, fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	st := members.InviteState{Existing: map[string]members.Invitation{}, Service: read.InviterUID == ""}
	if st.Tenant, err = tenantIn(snaps[0]); err != nil {
		return members.InviteState{}, err
	}
	snaps = snaps[1:]
	if read.InviterUID != "" {
		if st.Inviter, st.InviterFound, err = memberIn(snaps[0], tenantID); err != nil {
			return members.InviteState{}, err
		}
		snaps = snaps[1:]
	}
	if read.ImportID != "" {
		if st.Import, err = membersImportIn(snaps[0]); err != nil {
			return members.InviteState{}, err
		}
		snaps = snaps[1:]
	}
	for _, snap := range snaps {
		if !snap.Exists() {
			continue
		}
		inv, err := toInvitation(snap)
		if err != nil {
			return members.InviteState{}, err
		}
		st.Existing[inv.Email] = inv
	}
	if st.ScanDue(read.Now) {
		q := m.invitations(tenantID).Where("status", "==", string(members.StatusPending)).OrderBy("expiresAt", firestore.Asc).Limit(members.ScanLimit)
		if st.Earliest, err = decodeAll(tx.Documents(q), toInvitation, "the earliest pending invitations of "+tenantID); err != nil {
			return members.InviteState{}, err
		}
		st.Scanned = true
	}
	return st, nil
}

// writeInvitePlan adds an invitation plan's writes to tx.
func (m *MembersStore) writeInvitePlan(ctx context.Context, tx *firestore.Transaction, tenantID string, plan members.InvitePlan) error {
	for _, inv := range plan.Expire {
		if err := tx.Update(m.invitations(tenantID).Doc(inv.ID), []firestore.Update{
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
		if err := tx.Set(m.invitations(tenantID).Doc(inv.ID), toDBInvitation(inv)); err != nil {
			return fmt.Errorf("write invitation %s: %w", inv.ID, err)
		}
		if err := createTokenIndex(tx, m.fs, inv.TokenHash, tokenIndexDoc{TenantID: tenantID, InvitationID: inv.ID, CreatedAt: plan.At}); err != nil {
			return err
		}
		if err := createOutbox(ctx, tx, m.fs, n.Email); err != nil {
			return err
		}
	}
	if err := createAudit(tx, m.tenantRef(tenantID), plan.Audit...); err != nil {
		return err
	}
	if rec := plan.Import; rec != nil {
		if err := tx.Create(m.fs.Collection(colIdempotency).Doc(rec.ID), toDBMembersImport(*rec)); err != nil {
			return fmt.Errorf("record importMembers call: %w", err)
		}
	}
	return tx.Update(m.tenantRef(tenantID), []firestore.Update{
		{Path: "pendingInvitations", Value: plan.PendingInvitations},
		{Path: "membersChangedAt", Value: plan.At},
		pendingExpiryFloorUpdate(plan.PendingExpiryFloor),
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
	k, err := m.resolveKey(ctx, key)
	if err != nil {
		return err
	}
	return m.run(ctx, k.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		st, err := m.readInvitationState(tx, k, actorUID)
		if err != nil {
			return err
		}
		ch, err := decide(st)
		if err != nil {
			return err
		}
		return m.writeInvitationChange(ctx, tx, k, st.Tenant.Tenant, ch)
	})
}

// resolveKey names the invitation of a token by its tenant and id. The index is create-only and
// never changes, so it is read before the transaction, which then knows its tenant and queues
// behind this process's others on it.
func (m *MembersStore) resolveKey(ctx context.Context, key members.InvitationKey) (members.InvitationKey, error) {
	if key.TokenHash == "" {
		return key, nil
	}
	var d tokenIndexDoc
	if err := get(ctx, m.fs.Collection(colInvitationToken).Doc(key.TokenHash), &d); err != nil {
		return members.InvitationKey{}, err
	}
	key.TenantID, key.ID = d.TenantID, d.InvitationID
	return key, nil
}

// readInvitationState reads what ChangeInvitation hands to decide.
func (m *MembersStore) readInvitationState(tx *firestore.Transaction, k members.InvitationKey, actorUID string) (members.InvitationState, error) {
	refs := []*firestore.DocumentRef{m.tenantRef(k.TenantID), m.invitations(k.TenantID).Doc(k.ID)}
	if actorUID != "" {
		refs = append(refs, m.memberRef(k.TenantID, actorUID))
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return members.InvitationState{}, fmt.Errorf("read invitation %s: %w", k.ID, err)
	}
	if !snaps[1].Exists() {
		return members.InvitationState{}, errs.ErrNotFound
	}
	var st members.InvitationState
	if st.Tenant, err = tenantIn(snaps[0]); err != nil {
		return members.InvitationState{}, err
	}
	if st.Invitation, err = toInvitation(snaps[1]); err != nil {
		return members.InvitationState{}, err
	}
	if actorUID != "" {
		if st.Actor, st.ActorFound, err = memberIn(snaps[2], k.TenantID); err != nil {
			return members.InvitationState{}, err
		}
	}
	if st.Invitation.Role == rules.RoleOwner {
		// A tenant has one owner: a small query, and only for the rare owner invitation.
		q := m.tenantRef(k.TenantID).Collection(colMembers).Where("role", "==", string(rules.RoleOwner))
		decode := func(s *firestore.DocumentSnapshot) (tenancy.Member, error) {
			owner, _, err := memberIn(s, k.TenantID)
			return owner, err
		}
		if st.Owners, err = decodeAll(tx.Documents(q), decode, "the owners of "+k.TenantID); err != nil {
			return members.InvitationState{}, err
		}
	}
	return st, nil
}

// writeInvitationChange adds a single-invitation change to tx; t is the tenant as read.
func (m *MembersStore) writeInvitationChange(ctx context.Context, tx *firestore.Transaction, k members.InvitationKey, t tenancy.Tenant, ch members.InvitationChange) error {
	if err := tx.Set(m.invitations(k.TenantID).Doc(k.ID), toDBInvitation(ch.Invitation)); err != nil {
		return fmt.Errorf("write invitation %s: %w", k.ID, err)
	}
	if ch.NewTokenHash != "" {
		if err := createTokenIndex(tx, m.fs, ch.NewTokenHash, tokenIndexDoc{TenantID: k.TenantID, InvitationID: k.ID, CreatedAt: ch.At}); err != nil {
			return err
		}
	}
	if err := m.updateMembers(tx, k.TenantID, ch.SetRole, roleUpdate); err != nil {
		return err
	}
	if nm := ch.AddMember; nm != nil {
		if err := m.addMember(tx, k.TenantID, *nm, ch.At); err != nil {
			return err
		}
	}
	if err := createOutbox(ctx, tx, m.fs, ch.Outbox...); err != nil {
		return err
	}
	if err := createAudit(tx, m.tenantRef(k.TenantID), ch.Audit...); err != nil {
		return err
	}
	if ch.SeatsUsed == t.SeatsUsed && ch.PendingInvitations == t.PendingInvitations {
		return nil
	}
	return tx.Update(m.tenantRef(k.TenantID), []firestore.Update{
		{Path: "seatsUsed", Value: ch.SeatsUsed},
		{Path: "pendingInvitations", Value: ch.PendingInvitations},
		{Path: "membersChangedAt", Value: ch.At},
	})
}

// updateMembers writes one field of each of list's memberships: roleUpdate or appRolesUpdate.
func (m *MembersStore) updateMembers(tx *firestore.Transaction, tenantID string, list []tenancy.Member, field func(tenancy.Member) firestore.Update) error {
	for _, mb := range list {
		u := field(mb)
		if err := tx.Update(m.memberRef(tenantID, mb.UID), []firestore.Update{u}); err != nil {
			return fmt.Errorf("set %s of member %s: %w", u.Path, mb.UID, err)
		}
	}
	return nil
}

func roleUpdate(mb tenancy.Member) firestore.Update {
	return firestore.Update{Path: "role", Value: string(mb.Role)}
}

// appRolesUpdate stores an empty list as an empty array, which the rules read like an absent
// field.
func appRolesUpdate(mb tenancy.Member) firestore.Update {
	roles := mb.AppRoles
	if roles == nil {
		roles = []string{}
	}
	return firestore.Update{Path: "appRoles", Value: roles}
}

// addMember creates a membership and links users/{uid} to the tenant.
func (m *MembersStore) addMember(tx *firestore.Transaction, tenantID string, nm tenancy.Member, at time.Time) error {
	if err := tx.Create(m.memberRef(tenantID, nm.UID), toDBMember(nm)); err != nil {
		return fmt.Errorf("create member %s: %w", nm.UID, err)
	}
	if err := tx.Set(m.fs.Collection(colUsers).Doc(nm.UID), map[string]any{
		"email":     nm.Email,
		"tenantIds": firestore.ArrayUnion(tenantID),
		"updatedAt": at,
	}, firestore.MergeAll); err != nil {
		return fmt.Errorf("link user %s: %w", nm.UID, err)
	}
	return nil
}

// ChangeMembers implements members.Store.
func (m *MembersStore) ChangeMembers(ctx context.Context, tenantID, actorUID, targetUID string, decide func(members.MembersState) (members.MembersChange, error)) error {
	return m.run(ctx, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		st, err := m.readMembersState(tx, tenantID, actorUID, targetUID)
		if err != nil {
			return err
		}
		ch, err := decide(st)
		if err != nil {
			return err
		}
		return m.writeMembersChange(ctx, tx, tenantID, ch)
	})
}

// readMembersState reads what ChangeMembers hands to decide.
func (m *MembersStore) readMembersState(tx *firestore.Transaction, tenantID, actorUID, targetUID string) (members.MembersState, error) {
	refs := []*firestore.DocumentRef{m.tenantRef(tenantID), m.memberRef(tenantID, actorUID)}
	if targetUID != actorUID {
		refs = append(refs, m.memberRef(tenantID, targetUID))
	}
	snaps, err := tx.GetAll(refs)
	if err != nil {
		return members.MembersState{}, fmt.Errorf("read members of %s: %w", tenantID, err)
	}
	if targetUID == actorUID {
		snaps = append(snaps, snaps[1]) // leaving: the actor is the target
	}
	var st members.MembersState
	if st.Tenant, err = tenantIn(snaps[0]); err != nil {
		return members.MembersState{}, err
	}
	if st.Actor, st.ActorFound, err = memberIn(snaps[1], tenantID); err != nil {
		return members.MembersState{}, err
	}
	if st.Target, st.TargetFound, err = memberIn(snaps[2], tenantID); err != nil {
		return members.MembersState{}, err
	}
	return st, nil
}

// writeMembersChange adds a membership change to tx.
func (m *MembersStore) writeMembersChange(ctx context.Context, tx *firestore.Transaction, tenantID string, ch members.MembersChange) error {
	if err := m.updateMembers(tx, tenantID, ch.SetRole, roleUpdate); err != nil {
		return err
	}
	if err := m.updateMembers(tx, tenantID, ch.SetAppRoles, appRolesUpdate); err != nil {
		return err
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
	if err := createAudit(tx, m.tenantRef(tenantID), ch.Audit...); err != nil {
		return err
	}
	if err := createOutbox(ctx, tx, m.fs, ch.Outbox...); err != nil {
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
	if !ch.OwnerlessSince.IsZero() {
		ups = append(ups, firestore.Update{Path: "ownerlessSince", Value: ch.OwnerlessSince})
	}
	return tx.Update(m.tenantRef(tenantID), ups)
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
	return count(ctx, q, "pending invitations of "+tenantID)
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

// UserLinks implements members.Store.
func (m *MembersStore) UserLinks(ctx context.Context, uid string) (string, []string, bool, error) {
	var d struct {
		Email     string   `firestore:"email"`
		TenantIDs []string `firestore:"tenantIds"`
	}
	err := get(ctx, m.fs.Collection(colUsers).Doc(uid), &d)
	if errors.Is(err, errs.ErrNotFound) {
		return "", nil, false, nil
	}
	if err != nil {
		return "", nil, false, err
	}
	return d.Email, d.TenantIDs, true, nil
}

// DeleteUserDoc implements members.Store.
func (m *MembersStore) DeleteUserDoc(ctx context.Context, uid string) error {
	if _, err := m.fs.Collection(colUsers).Doc(uid).Delete(ctx); err != nil {
		return fmt.Errorf("delete users/%s: %w", uid, err)
	}
	return nil
}

// UserIDs implements members.Store: a page of users/ by document id, reading no fields.
func (m *MembersStore) UserIDs(ctx context.Context, after string, limit int) ([]string, error) {
	q := m.fs.Collection(colUsers).OrderBy(firestore.DocumentID, firestore.Asc).Select().Limit(limit)
	if after != "" {
		q = q.StartAfter(after)
	}
	snaps, err := q.Documents(ctx).GetAll()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]string, len(snaps))
	for i, s := range snaps {
		out[i] = s.Ref.ID
	}
	return out, nil
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
