package domains

import (
	"context"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// announcingStore adds to domain and enrollment changes the events to the application they
// make (tenancy.Events), in the change's own transaction, by comparing what decide read with what
// it writes: a domain becoming verified (verifyDomain, the verify-domains job), a member joining
// by domain (automatic enrollment, an approved join request). Every such write of this domain
// goes through ChangeDomain or ChangeEnrollment, so none is missed.
type announcingStore struct {
	Store
	events tenancy.Events
}

// ChangeDomain announces a domain that becomes verified.
func (s announcingStore) ChangeDomain(ctx context.Context, name string, decide func(Domain) (DomainChange, error)) error {
	return s.Store.ChangeDomain(ctx, name, func(cur Domain) (DomainChange, error) {
		ch, err := decide(cur)
		if err != nil || ch.Delete || cur.Status == StatusVerified || ch.Domain.Status != StatusVerified {
			return ch, err
		}
		d := ch.Domain
		ev := tenancy.DomainVerified{TenantID: d.TenantID, Domain: d.Name, Enrollment: string(d.Enrollment), VerifiedAt: d.VerifiedAt.UTC()}
		ch.Outbox = append(ch.Outbox, s.events.Emit(d.TenantID, ev, d.VerifiedAt)...)
		return ch, nil
	})
}

// ChangeEnrollment announces a member who joins by domain or by an approved join request.
func (s announcingStore) ChangeEnrollment(ctx context.Context, tenantID, uid string, decide func(EnrollState) (EnrollChange, error)) error {
	return s.Store.ChangeEnrollment(ctx, tenantID, uid, func(st EnrollState) (EnrollChange, error) {
		ch, err := decide(st)
		if err != nil || ch.AddMember == nil {
			return ch, err
		}
		via := tenancy.JoinedByDomain
		if ch.CloseRequest {
			via = tenancy.JoinedByJoinRequest
		}
		ch.Outbox = append(ch.Outbox, s.events.Emit(tenantID, tenancy.MemberJoinedOf(st.Tenant, *ch.AddMember, via), ch.At)...)
		return ch, nil
	})
}
