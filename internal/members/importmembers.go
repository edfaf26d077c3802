package members

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/validate"
	"github.com/tenantry/tenantry/rules"
)

// importMembers invites a list of people in one call, for a migration: by a service token with
// the members scope or by an owner or admin. It is all or none: every row is checked (address,
// role, app roles, not a member, not already invited, not twice in the call, the address's share
// of emails), then the seat cap and the pending-invitation limit for the whole batch, in the one
// invitation transaction that also writes the invitations, their emails and the tenant's
// counters. A row that fails rejects the call with nothing written, and the report names every
// failing row; the caps and the tenant's status are errors, as for inviteMembers.

const (
	// MaxImportRows bounds importMembers. Firestore commits at most 500 writes, and each
	// invitation is four of them (the invitation, its token index, its email in the outbox, its
	// audit entry); the call adds the tenant, its idempotency record and at most ScanLimit
	// expired invitations: 4×100 + 2 + 20 = 422. All or none for 500 rows would need 2,000
	// writes in one commit, so a longer list is sent as several calls.
	MaxImportRows = 100
	// DefaultImportRetention is how long a call's report answers its retries.
	DefaultImportRetention = 48 * time.Hour
	// importOperation names importMembers in idempotency records.
	importOperation = "importMembers"
)

// ImportRow is one person to invite.
type ImportRow struct {
	Email    string
	Role     rules.Role
	AppRoles []string
}

// ImportInput is importMembers' input.
type ImportInput struct {
	TenantID       string
	Rows           []ImportRow
	IdempotencyKey string
}

// Rejection says why the row at Index (0-based) rejected the call; Field is the row's field
// (email, role, appRoles).
type Rejection struct {
	Index  int
	Field  string
	Reason string
}

// ImportReport is importMembers' answer: either every row invited (Rejected empty) or none.
type ImportReport struct {
	Received      int
	Invited       int
	InvitationIDs []string // in the order of the rows
	Rejected      []Rejection
	// Replayed says the report comes from an earlier call with the same idempotency key.
	Replayed bool
}

// ImportRecord is an importMembers call's idempotency record: its report under its caller and
// key, with the hash of its rows. Only a call that invited is recorded: one that was rejected
// wrote nothing, and its retry is checked again.
type ImportRecord struct {
	ID         string
	Caller     string
	ParamsHash string
	TenantID   string
	Report     ImportReport
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// rowsRejected aborts the invitation transaction of a call with rejected rows.
type rowsRejected struct{ rows []Rejection }

func (r *rowsRejected) Error() string { return fmt.Sprintf("%d rows rejected", len(r.rows)) }

// importer is who calls importMembers.
type importer struct {
	key     string        // scopes idempotency keys: "user:<uid>" or "service-token:<id>"
	uid     string        // the user's; "" for a service token
	service *auth.Service // nil for a user
	email   string        // the user's, quoted by the invitation emails
}

// serviceInviter is a service token as an inviter and an audit actor.
func serviceInviter(svc auth.Service) string { return "service-token:" + svc.TokenID }

// importerOf identifies the caller. A service token acts only in its own tenant (any other is
// NOT_FOUND, as for a user who is no member) and only with the members scope; a user must have
// a verified address, which the emails quote.
func importerOf(ctx context.Context, tenantID string) (importer, error) {
	if _, err := validate.ID("tenantId", tenantID); err != nil {
		return importer{}, errs.ErrNotFound
	}
	if svc, ok := auth.ServiceFromContext(ctx); ok {
		if svc.TenantID != tenantID {
			return importer{}, errs.ErrNotFound
		}
		if !svc.HasScope(servicetokens.ScopeMembers) {
			return importer{}, errs.Detail(errs.ErrForbidden, "this service token's scopes do not allow inviting members; ask an owner or admin for a token with the members scope")
		}
		return importer{key: serviceInviter(svc), service: &svc}, nil
	}
	p, err := principal(ctx)
	if err != nil {
		return importer{}, err
	}
	if err := requireVerifiedSender(p); err != nil {
		return importer{}, err
	}
	return importer{key: "user:" + p.UID, uid: p.UID, email: p.Email}, nil
}

// ImportMembers is importMembers (see the top of this file).
func (s *Service) ImportMembers(ctx context.Context, in ImportInput) (ImportReport, error) {
	imp, err := importerOf(ctx, in.TenantID)
	if err != nil {
		return ImportReport{}, err
	}
	if len(in.Rows) == 0 || len(in.Rows) > MaxImportRows {
		return ImportReport{}, errs.Invalid("members", fmt.Sprintf("%d rows in one call; send 1 to %d a call, and a longer list as several calls", len(in.Rows), MaxImportRows))
	}
	if _, err := validate.IdempotencyKey(in.IdempotencyKey); err != nil {
		return ImportReport{}, err
	}
	rec, err := importRecordFor(imp, in)
	if err != nil {
		return ImportReport{}, err
	}
	call := s.normalizeImport(imp, in.Rows)
	call.key = s.newID()
	if call.isMember, err = s.store.MemberEmails(ctx, in.TenantID, call.emails); err != nil {
		return ImportReport{}, fmt.Errorf("import members into %s: %w", in.TenantID, err)
	}
	var rep ImportReport
	read := InviteRead{TenantID: in.TenantID, InviterUID: imp.uid, Emails: call.emails, ImportID: rec.ID, Now: s.clock.Now()}
	err = s.store.Invite(ctx, read, func(st InviteState) (InvitePlan, error) {
		plan, r, err := s.decideImport(ctx, st, call, rec)
		rep = r
		return plan, err
	})
	var rejected *rowsRejected
	if err != nil && !errors.As(err, &rejected) {
		return ImportReport{}, err
	}
	return rep, nil
}

// importRecordFor is the call's idempotency record, before its report: its id under the caller
// and key, and the hash of the rows as sent.
func importRecordFor(imp importer, in ImportInput) (ImportRecord, error) {
	b, err := json.Marshal(map[string]any{"tenantId": in.TenantID, "rows": in.Rows})
	if err != nil {
		return ImportRecord{}, fmt.Errorf("hash importMembers rows: %w", err)
	}
	sum := sha256.Sum256(b)
	return ImportRecord{
		ID:     tenancy.IdempotencyRecordID(imp.key, importOperation+"\x00"+in.IdempotencyKey),
		Caller: imp.key, ParamsHash: hex.EncodeToString(sum[:]), TenantID: in.TenantID,
		Report: ImportReport{Received: len(in.Rows)},
	}, nil
}

// normalizeImport checks what each row says on its own, and returns the call of the valid rows
// with the rejections of the others (call.static).
func (s *Service) normalizeImport(imp importer, rows []ImportRow) inviteCall {
	call := inviteCall{
		strict: true, rows: map[string]int{}, roles: map[string]rules.Role{}, appRoles: map[string][]string{},
		fields: map[string]string{}, inviterEmail: imp.email, inviterID: imp.uid,
	}
	if imp.service != nil {
		call.inviterID, call.inviterName = serviceInviter(*imp.service), "the service token "+strconv.Quote(imp.service.TokenName)
	}
	seen := map[string]int{}
	for i, r := range rows {
		reject := func(field, reason string) {
			call.static = append(call.static, Rejection{Index: i, Field: field, Reason: reason})
		}
		email, err := validate.Email(r.Email)
		if err != nil {
			reject(validate.FieldEmail, reasonOf(err))
			continue
		}
		if first, dup := seen[email]; dup {
			reject(validate.FieldEmail, fmt.Sprintf("this address is also on row %d; list each address once", first))
			continue
		}
		seen[email] = i
		if reason := importRoleProblem(imp, r.Role); reason != "" {
			reject("role", reason)
			continue
		}
		appRoles, err := s.appRolesIn(r.AppRoles)
		if err != nil {
			reject(fieldAppRoles, reasonOf(err))
			continue
		}
		call.emails = append(call.emails, email)
		call.rows[email], call.fields[email] = i, validate.FieldEmail
		call.roles[email], call.appRoles[email] = r.Role, appRoles
	}
	return call
}

// importRoleProblem says why imp may not hand out role r ("" when it may). Nobody is invited as
// owner. A service token grants at most manager: it is a long-lived secret in a script, and an
// admin could create more tokens and remove people, so admins are invited by a person.
func importRoleProblem(imp importer, r rules.Role) string {
	switch {
	case !rules.ValidRole(r):
		return "use one of ADMIN, MANAGER, MEMBER, VIEWER"
	case r == rules.RoleOwner:
		return "nobody can be invited as owner; invite them as admin, and the owner hands the organization over with transferOwnership"
	case imp.service != nil && rank(r) > rank(rules.RoleManager):
		return "a service token invites managers, members and viewers; an owner or admin invites admins themself"
	}
	return ""
}

// decideImport is the invitation transaction's decision for importMembers: a replay of a
// recorded call, a refusal of the caller, the rows' rejections, or the plan with its record.
func (s *Service) decideImport(ctx context.Context, st InviteState, call inviteCall, rec ImportRecord) (InvitePlan, ImportReport, error) {
	now := s.clock.Now()
	if !st.Service && !st.InviterFound {
		return InvitePlan{}, ImportReport{}, notMember(ctx)
	}
	if st.Import != nil {
		if st.Import.Caller != rec.Caller || st.Import.ParamsHash != rec.ParamsHash {
			return InvitePlan{}, ImportReport{}, errs.ErrIdempotencyKeyReused
		}
		rep := st.Import.Report
		rep.Replayed = true
		return InvitePlan{}, rep, errNoop
	}
	if err := checkImporter(st, now); err != nil {
		return InvitePlan{}, ImportReport{}, err
	}
	plan, _, err := s.planInvites(ctx, st, call, now)
	var rejected *rowsRejected
	if errors.As(err, &rejected) {
		return InvitePlan{}, ImportReport{Received: rec.Report.Received, Rejected: rejected.rows}, err
	}
	if err != nil {
		return InvitePlan{}, ImportReport{}, err
	}
	rep := ImportReport{Received: rec.Report.Received, Invited: len(plan.Create), InvitationIDs: make([]string, 0, len(plan.Create))}
	for _, n := range plan.Create {
		rep.InvitationIDs = append(rep.InvitationIDs, n.Invitation.ID)
	}
	rec.Report, rec.CreatedAt, rec.ExpiresAt = rep, now, now.Add(s.cfg.ImportRetention)
	plan.Import = &rec
	return plan, rep, nil
}

// checkImporter applies the policy to the caller as the transaction read it: a service token has
// no role, so the tenant's status alone decides (as for inviting); a user must manage members.
func checkImporter(st InviteState, now time.Time) error {
	status := st.Tenant.AccessStatus(now)
	if st.Service {
		return inviteCheckError(rules.CheckStatus(status, rules.InviteMembers))
	}
	err := rules.Check(status, st.Inviter.Role, rules.ManageMembers)
	if errors.Is(err, errs.ErrForbidden) {
		return errs.Detail(errs.ErrForbidden, "only owners and admins import members; ask one of them, or use inviteMembers")
	}
	return inviteCheckError(err)
}

// rejectRows collects the rejections of a strict call: the rows refused on their own (static),
// and those the transaction's reads refuse: an address that belongs to a member or has a pending
// invitation (kept), or has had its share of emails from this tenant. Nil when there are none.
func (s *Service) rejectRows(st InviteState, call inviteCall, kept []InviteResult, fresh []string, now time.Time) error {
	out := slices.Clone(call.static)
	for _, k := range kept {
		e := k.Invitation.Email
		out = append(out, Rejection{Index: call.rows[e], Field: validate.FieldEmail, Reason: fmt.Sprintf(
			"this address already has a pending invitation (until %s); leave the row out, or revoke that invitation first",
			k.Invitation.ExpiresAt.UTC().Format(time.RFC3339))})
	}
	for _, e := range fresh {
		if call.isMember[e] {
			out = append(out, Rejection{Index: call.rows[e], Field: validate.FieldEmail, Reason: "this address already belongs to a member of the organization; leave the row out"})
			continue
		}
		if _, err := s.admitSend(e, st.Existing[e], now); err != nil {
			out = append(out, Rejection{Index: call.rows[e], Field: validate.FieldEmail, Reason: err.Error()})
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b Rejection) int { return a.Index - b.Index })
	return &rowsRejected{rows: out}
}
