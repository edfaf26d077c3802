package tenancy

import (
	"crypto/rand"
	"encoding/json"
	"slices"
	"time"

	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

// Event is the data of one event to the application (docs/events.md, contract "Events to the
// application"): one type per event type, its fields the body's "data" object. Only this
// package's types implement it, and EventTypes lists them.
type Event interface {
	// EventType is the body's "type".
	EventType() string
}

// EventTypes lists one zero value of every event, in the order docs/events.md presents them.
var EventTypes = []Event{
	TenantProvisioned{}, TenantStatusChanged{}, MemberJoined{}, MemberRemoved{}, MemberRoleChanged{}, DomainVerified{},
	ExportReady{}, TenantPurged{},
}

// Events makes the outbox entries that carry events to the application. The zero value is off
// and makes none: without TENANTRY_EVENTS_URL nothing is written.
type Events struct{ on bool }

// NewEvents is Events on or off.
func NewEvents(on bool) Events { return Events{on: on} }

// On reports whether events are made.
func (e Events) On() bool { return e.on }

// Emit is the one way an event is made: the outbox entry that delivers ev about tenantID,
// decided at `at`, or nothing when events are off. Call it inside the transaction that makes the
// change and write the entry with the change's other outbox entries, so that an event is sent if
// and only if its change committed. Its id (a random key: every call is a distinct event) is the
// webhook-id of every attempt.
func (e Events) Emit(tenantID string, ev Event, at time.Time) []OutboxEntry {
	if !e.on {
		return nil
	}
	data, err := json.Marshal(ev)
	if err != nil {
		// The event types hold strings, times and lists only: this is a programming error.
		panic("tenancy: encode event " + ev.EventType() + ": " + err.Error())
	}
	p := kinds.AppEvent{Type: ev.EventType(), Timestamp: eventTime(at), Data: data}
	return []OutboxEntry{NewOutboxEntry(tenantID, p, rand.Text(), at)}
}

// eventTime is t as Firestore keeps it (microseconds, UTC), so that a time in an event equals
// the same time read back from the tenant later (previousChangedAt).
func eventTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// TenantProvisioned: a tenant was created (self-serve signup or a sales contract).
type TenantProvisioned struct {
	TenantID    string    `json:"tenantId"`
	Status      string    `json:"status"`
	Name        string    `json:"name"`
	Subdomain   string    `json:"subdomain,omitempty"`
	PlanID      string    `json:"planId"`
	Source      string    `json:"source"`             // self_serve or sales_assisted
	OwnerUID    string    `json:"ownerUid,omitempty"` // "" for a contract: its admin joins by invitation
	TrialEndsAt time.Time `json:"trialEndsAt"`
	CreatedAt   time.Time `json:"createdAt"`
}

// EventType implements Event.
func (TenantProvisioned) EventType() string { return "tenant.provisioned" }

// TenantStatusChanged: one status change, as recorded in the tenant's history. Status may equal
// PreviousStatus when only its cause or the trial's end changed (a suspension lifted while
// billing still suspends, extendTrial). PreviousChangedAt is the ChangedAt of the change before,
// so a receiver can chain a tenant's changes and see one missing.
type TenantStatusChanged struct {
	TenantID          string    `json:"tenantId"`
	Status            string    `json:"status"`
	PreviousStatus    string    `json:"previousStatus"`
	Cause             string    `json:"cause"`
	Reason            string    `json:"reason,omitempty"`
	ChangedAt         time.Time `json:"changedAt"`
	PreviousChangedAt time.Time `json:"previousChangedAt"`
	TrialEndsAt       time.Time `json:"trialEndsAt,omitzero"`
}

// EventType implements Event.
func (TenantStatusChanged) EventType() string { return "tenant.status_changed" }

// Ways a member joins (MemberJoined.Via).
const (
	JoinedByProvisioning = "provisioning" // the owner who signed the tenant up
	JoinedByInvitation   = "invitation"
	JoinedByDomain       = "domain"       // automatic enrollment at a verified domain
	JoinedByJoinRequest  = "join_request" // an approved join request
)

// MemberJoined: a user became a member.
type MemberJoined struct {
	TenantID     string   `json:"tenantId"`
	TenantStatus string   `json:"tenantStatus"`
	UID          string   `json:"uid"`
	Email        string   `json:"email"`
	Role         string   `json:"role"`
	AppRoles     []string `json:"appRoles"`
	Via          string   `json:"via"`
}

// EventType implements Event.
func (MemberJoined) EventType() string { return "member.joined" }

// MemberRemoved: a membership ended (removed by an admin, or the member left).
type MemberRemoved struct {
	TenantID     string `json:"tenantId"`
	TenantStatus string `json:"tenantStatus"`
	UID          string `json:"uid"`
	Role         string `json:"role"` // the role held until then
	ByUID        string `json:"byUid,omitempty"`
}

// EventType implements Event.
func (MemberRemoved) EventType() string { return "member.removed" }

// MemberRoleChanged: a member's role or app roles changed (an ownership transfer is two of
// them, in one commit).
type MemberRoleChanged struct {
	TenantID         string   `json:"tenantId"`
	TenantStatus     string   `json:"tenantStatus"`
	UID              string   `json:"uid"`
	Role             string   `json:"role"`
	PreviousRole     string   `json:"previousRole"`
	AppRoles         []string `json:"appRoles"`
	PreviousAppRoles []string `json:"previousAppRoles"`
}

// EventType implements Event.
func (MemberRoleChanged) EventType() string { return "member.role_changed" }

// DomainVerified: a domain's DNS challenge was found, and the domain is now the tenant's.
type DomainVerified struct {
	TenantID   string    `json:"tenantId"`
	Domain     string    `json:"domain"`
	Enrollment string    `json:"enrollment"`
	VerifiedAt time.Time `json:"verifiedAt"`
}

// EventType implements Event.
func (DomainVerified) EventType() string { return "domain.verified" }

// ExportReady: an export's archive is written and its owners were sent the link (package
// export). The link itself is not in the event: it is the credential to the tenant's data.
type ExportReady struct {
	TenantID    string    `json:"tenantId"`
	ExportID    string    `json:"exportId"`
	Documents   int       `json:"documents"`
	SizeBytes   int64     `json:"sizeBytes"`
	CompletedAt time.Time `json:"completedAt"`
	ExpiresAt   time.Time `json:"expiresAt"`
}

// EventType implements Event.
func (ExportReady) EventType() string { return "export.ready" }

// statusChanged is the event of ch, decided on t as read in its transaction.
func statusChanged(t Tenant, ch StatusChange) TenantStatusChanged {
	ev := TenantStatusChanged{
		TenantID: t.ID, Status: string(ch.Status), PreviousStatus: string(t.Status), Cause: causeName(ch.Cause),
		Reason: ch.History.Reason, ChangedAt: eventTime(ch.At), PreviousChangedAt: eventTime(t.StatusChangedAt),
	}
	if !ch.TrialEndsAt.IsZero() {
		ev.TrialEndsAt = eventTime(ch.TrialEndsAt)
	}
	return ev
}

// MemberJoinedOf is the event of m joining t by way of via.
func MemberJoinedOf(t Tenant, m Member, via string) MemberJoined {
	return MemberJoined{
		TenantID: t.ID, TenantStatus: string(t.Status), UID: m.UID, Email: m.Email, Role: string(m.Role),
		AppRoles: nonNil(m.AppRoles), Via: via,
	}
}

// MemberChangedOf is the event of member `before` of t becoming `after`, and false when neither
// its role nor its app roles changed.
func MemberChangedOf(t Tenant, before, after Member) (MemberRoleChanged, bool) {
	if before.Role == after.Role && slices.Equal(before.AppRoles, after.AppRoles) {
		return MemberRoleChanged{}, false
	}
	return MemberRoleChanged{
		TenantID: t.ID, TenantStatus: string(t.Status), UID: after.UID,
		Role: string(after.Role), PreviousRole: string(before.Role),
		AppRoles: nonNil(after.AppRoles), PreviousAppRoles: nonNil(before.AppRoles),
	}, true
}

// MemberRemovedOf is the event of m leaving t, removed by byUID (m.UID when it left).
func MemberRemovedOf(t Tenant, m Member, byUID string) MemberRemoved {
	return MemberRemoved{TenantID: t.ID, TenantStatus: string(t.Status), UID: m.UID, Role: string(m.Role), ByUID: byUID}
}

// nonNil spells "no app roles" as [] rather than null in the body.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TenantPurged: the purge job deleted everything of a cancelled tenant once its retention ended
// (purge.go); only its tombstone is left. It is written in the commit that deletes the tenant
// document, after the tenant's own outbox entries are gone, so it is the tenant's last event: the
// application deletes what it keeps of the tenant elsewhere.
type TenantPurged struct {
	TenantID string    `json:"tenantId"`
	PurgedAt time.Time `json:"purgedAt"`
}

// EventType implements Event.
func (TenantPurged) EventType() string { return "tenant.purged" }
