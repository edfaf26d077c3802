// Package rules is Tenantry's one access policy: which tenant statuses allow reading and writing,
// and which role may take which action. The API enforces it in the domain layer, and
// firestore.rules is generated from the same tables, so the two cannot disagree.
package rules

import (
	"fmt"
	"time"

	"github.com/tenantry/tenantry/internal/errs"
)

// Status is a tenant's lifecycle state, as stored in tenants/{id}.status.
type Status string

// Tenant statuses.
const (
	StatusProvisioning Status = "provisioning"
	StatusTrial        Status = "trial"
	StatusTrialExpired Status = "trial_expired"
	StatusActive       Status = "active"
	StatusPastDue      Status = "past_due"
	StatusSuspended    Status = "suspended"
	StatusCancelled    Status = "cancelled"
)

// Role is a member's role in a tenant, as stored in tenants/{id}/members/{uid}.role.
type Role string

// Member roles, strongest first.
const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleMember  Role = "member"
	RoleViewer  Role = "viewer"
)

// Roles lists every role, strongest first.
var Roles = []Role{RoleOwner, RoleAdmin, RoleManager, RoleMember, RoleViewer}

// StatusAccess says what a tenant's status leaves open to its members, whatever their role.
type StatusAccess struct {
	Status Status
	Read   bool
	Write  bool
}

// StatusTable is the contract's table: reads stay open while a customer must see what they would
// lose; writes close at once when the trial ends or a payment fails.
var StatusTable = []StatusAccess{
	{StatusProvisioning, false, false},
	{StatusTrial, true, true},
	{StatusTrialExpired, true, false},
	{StatusActive, true, true},
	{StatusPastDue, true, false},
	{StatusSuspended, false, false},
	{StatusCancelled, false, false},
}

// Tenant document fields that the clock's deadlines read (see Deadlines).
const (
	FieldTrialEndsAt = "trialEndsAt" // timestamp: when the trial ends
	FieldContract    = "contract"    // present once a contract is signed
	FieldGraceEndsAt = "graceEndsAt" // timestamp: when a past_due tenant's grace ends; absent: no grace
)

// Deadline is a status change the clock makes on its own: once the tenant document's timestamp
// Field is at or before now, the tenant has To's access, before any job has recorded the move.
// The rules compare Field with request.time and the API with its clock, so access closes at the
// same instant in both, with or without the scheduler. A document that has the field Unless is
// exempt: a signed contract turns an ending trial into active, whose access is the trial's.
//
// Until turns the comparison round: From has To's access while Field is still ahead of now, and
// its own from the instant Field passes (a grace period, which closes without a job).
type Deadline struct {
	From, To Status
	Field    string
	Unless   string // "" when nothing exempts a tenant
	Until    bool
}

// Applies reports whether d gives a tenant in state st To's access at now.
func (d Deadline) Applies(st TenantState, now time.Time) bool {
	if d.From != st.Status || (d.Unless != "" && st.Has[d.Unless]) {
		return false
	}
	at := st.Times[d.Field]
	if at.IsZero() {
		return false
	}
	if d.Until {
		return at.After(now)
	}
	return !at.After(now)
}

// Deadlines lists the clock's moves. The job that records a trial's end (expire-trials) still
// writes the status, the history and the email; until it runs, the first keeps access right.
// The second is past-due grace: a tenant whose payment failed keeps writing until graceEndsAt
// (set by the lifecycle when it enters past_due, from the plan's or contract's graceDays; absent
// with 0 days, so writes close on the first failed payment).
var Deadlines = []Deadline{
	{From: StatusTrial, To: StatusTrialExpired, Field: FieldTrialEndsAt, Unless: FieldContract},
	{From: StatusPastDue, To: StatusActive, Field: FieldGraceEndsAt, Until: true},
}

// TenantState is what access depends on: the stored status, and the tenant document's fields
// that Deadlines read.
type TenantState struct {
	Status Status
	// Times holds the document's timestamps by field name (a zero or missing time never passes).
	Times map[string]time.Time
	// Has says which of the document's fields are present.
	Has map[string]bool
}

// Effective returns the status whose access applies at now: the stored status, or the status a
// passed deadline leads to.
func (st TenantState) Effective(now time.Time) Status {
	for _, d := range Deadlines {
		if d.Applies(st, now) {
			return d.To
		}
	}
	return st.Status
}

// InGrace reports whether a grace deadline (Until) keeps st open at now: the status is stored,
// but access is another's, and the SPA's banner says until when.
func (st TenantState) InGrace(now time.Time) bool {
	for _, d := range Deadlines {
		if d.Until && d.Applies(st, now) {
			return true
		}
	}
	return false
}

// Kind says which part of the status table an action needs.
type Kind int

// Action kinds.
const (
	KindRead    Kind = iota // needs the status to allow reads
	KindWrite               // needs the status to allow writes
	KindBilling             // open in every status but cancelled, so a customer can pay their way back
)

// Action is something a member can do in a tenant.
type Action string

// Actions.
const (
	ReadData          Action = "read_data"
	WriteData         Action = "write_data"
	ManageMembers     Action = "manage_members"
	InviteMembers     Action = "invite_members"
	ManageBilling     Action = "manage_billing"
	TransferOwnership Action = "transfer_ownership"
	ReadAuditLog      Action = "read_audit_log"
	// Service tokens and the data import (issue 14). Creating a token hands out write access, so
	// it needs what writing needs; listing and revoking need only what reading needs, so an
	// owner of a read-only tenant can still see and revoke a leaked token.
	ManageServiceTokens Action = "manage_service_tokens"
	ReadServiceTokens   Action = "read_service_tokens"
	ImportData          Action = "import_data"
)

// ActionPolicy is one row of the role table.
type ActionPolicy struct {
	Action Action
	Kind   Kind
	Roles  []Role
}

// ActionTable says which roles may take each action. A manager's invitations are further limited
// to the member and viewer roles by the members domain.
var ActionTable = []ActionPolicy{
	{ReadData, KindRead, Roles},
	{WriteData, KindWrite, []Role{RoleOwner, RoleAdmin, RoleManager, RoleMember}},
	{ManageMembers, KindWrite, []Role{RoleOwner, RoleAdmin}},
	{InviteMembers, KindWrite, []Role{RoleOwner, RoleAdmin, RoleManager}},
	{ManageBilling, KindBilling, []Role{RoleOwner}},
	{TransferOwnership, KindWrite, []Role{RoleOwner}},
	{ReadAuditLog, KindRead, []Role{RoleOwner, RoleAdmin}},
	{ManageServiceTokens, KindWrite, []Role{RoleOwner, RoleAdmin}},
	{ReadServiceTokens, KindRead, []Role{RoleOwner, RoleAdmin}},
	{ImportData, KindWrite, []Role{RoleOwner, RoleAdmin}},
}

// ValidStatus reports whether s is a known status.
func ValidStatus(s Status) bool {
	_, ok := statusAccess(s)
	return ok
}

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// StatusAllows returns the read and write access a status leaves open.
func StatusAllows(s Status) StatusAccess {
	a, _ := statusAccess(s)
	return a
}

func statusAccess(s Status) (StatusAccess, bool) {
	for _, a := range StatusTable {
		if a.Status == s {
			return a, true
		}
	}
	return StatusAccess{Status: s}, false
}

// KindOf returns which part of the status table action needs; an unknown action is KindWrite,
// the most restrictive.
func KindOf(a Action) Kind {
	if p, ok := actionPolicy(a); ok {
		return p.Kind
	}
	return KindWrite
}

func actionPolicy(a Action) (ActionPolicy, bool) {
	for _, p := range ActionTable {
		if p.Action == a {
			return p, true
		}
	}
	return ActionPolicy{}, false
}

// Check decides whether a member with role may take action in a tenant with status (the
// effective status: see TenantState.Effective). The status
// is checked first, because it applies whatever the role: errs.ErrTenantSuspended when the status
// closes reads, errs.ErrTenantReadOnly when it closes writes, then errs.ErrForbidden for the role.
func Check(status Status, role Role, action Action) error {
	if err := CheckStatus(status, action); err != nil {
		return err
	}
	p, _ := actionPolicy(action)
	for _, r := range p.Roles {
		if r == role {
			return nil
		}
	}
	return errs.ErrForbidden
}

// CheckStatus is Check's first half: whether a tenant's (effective) status leaves action open,
// whoever takes it. A service token, which has no role, is held to it (package dataimport).
func CheckStatus(status Status, action Action) error {
	p, ok := actionPolicy(action)
	if !ok {
		return fmt.Errorf("rules: unknown action %q", action)
	}
	sa := StatusAllows(status)
	switch p.Kind {
	case KindRead:
		if !sa.Read {
			return errs.ErrTenantSuspended
		}
	case KindWrite:
		if !sa.Read {
			return errs.ErrTenantSuspended
		}
		if !sa.Write {
			return errs.ErrTenantReadOnly
		}
	case KindBilling:
		if status == StatusCancelled {
			return errs.ErrTenantSuspended
		}
	}
	return nil
}
