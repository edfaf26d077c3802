package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// colDomainClaims holds domainClaims/{domain}: one organization's claim on an email domain,
// with its challenge and verification state. Server-owned; the id makes the claim unique.
const colDomainClaims = "domainClaims"

type domainDoc struct {
	TenantID      string    `firestore:"tenantId"`
	Status        string    `firestore:"status"`
	Enrollment    string    `firestore:"enrollment"`
	Token         string    `firestore:"token"`
	CreatedBy     string    `firestore:"createdBy"`
	CreatedAt     time.Time `firestore:"createdAt"`
	VerifiedAt    time.Time `firestore:"verifiedAt,omitempty"`
	LastCheckedAt time.Time `firestore:"lastCheckedAt,omitempty"`
	NextCheckAt   time.Time `firestore:"nextCheckAt,omitempty"`
	Checks        int       `firestore:"checks"`
	MissingSince  time.Time `firestore:"missingSince,omitempty"`
}

func toDBDomain(d domains.Domain) domainDoc {
	return domainDoc{
		TenantID: d.TenantID, Status: string(d.Status), Enrollment: string(d.Enrollment), Token: d.Token,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, VerifiedAt: d.VerifiedAt, LastCheckedAt: d.LastCheckedAt,
		NextCheckAt: d.NextCheckAt, Checks: d.Checks, MissingSince: d.MissingSince,
	}
}

func toDomain(name string, d domainDoc) domains.Domain {
	return domains.Domain{
		Name: name, TenantID: d.TenantID, Status: domains.Status(d.Status), Enrollment: domains.Enrollment(d.Enrollment), Token: d.Token,
		CreatedBy: d.CreatedBy, CreatedAt: d.CreatedAt, VerifiedAt: d.VerifiedAt, LastCheckedAt: d.LastCheckedAt,
		NextCheckAt: d.NextCheckAt, Checks: d.Checks, MissingSince: d.MissingSince,
	}
}

// DomainsStore implements domains.Store.
type DomainsStore struct{ *Store }

// DomainsStore is the domain-capture persistence over the same client.
func (s *Store) DomainsStore() *DomainsStore { return &DomainsStore{s} }

var _ domains.Store = (*DomainsStore)(nil)

func (s *DomainsStore) claimRef(name string) *firestore.DocumentRef {
	return s.fs.Collection(colDomainClaims).Doc(name)
}

// CreateDomain implements domains.Store: the claim and its audit entry in one batch of creates.
func (s *DomainsStore) CreateDomain(ctx context.Context, d domains.Domain, a tenancy.AuditEntry) error {
	//lint:ignore SA1019 a batch of blind creates is one round trip; nothing needs reading first.
	b := s.fs.Batch()
	b.Create(s.claimRef(d.Name), toDBDomain(d))
	b.Create(s.fs.Collection(colTenants).Doc(d.TenantID).Collection(colAudit).NewDoc(), toDBAudit(a))
	if _, err := b.Commit(ctx); err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return errs.ErrDomainTaken
		}
		return fmt.Errorf("claim domain %s for %s: %w", d.Name, d.TenantID, err)
	}
	return nil
}

// Domain implements domains.Store.
func (s *DomainsStore) Domain(ctx context.Context, name string) (domains.Domain, error) {
	var d domainDoc
	if err := get(ctx, s.claimRef(name), &d); err != nil {
		return domains.Domain{}, err
	}
	return toDomain(name, d), nil
}

// ChangeDomain implements domains.Store.
func (s *DomainsStore) ChangeDomain(ctx context.Context, name string, decide func(domains.Domain) (domains.DomainChange, error)) error {
	ref := s.claimRef(name)
	err := s.fs.RunTransaction(ctx, func(ctx context.Context, tx *firestore.Transaction) error {
		var d domainDoc
		if err := txGet(tx, ref, &d); err != nil {
			return err
		}
		ch, err := decide(toDomain(name, d))
		if err != nil {
			return err
		}
		if ch.Delete {
			err = tx.Delete(ref)
		} else {
			err = tx.Set(ref, toDBDomain(ch.Domain))
		}
		if err != nil {
			return fmt.Errorf("write domain %s: %w", name, err)
		}
		if err := createAudit(tx, s.fs.Collection(colTenants).Doc(d.TenantID), ch.Audit...); err != nil {
			return err
		}
		return createOutbox(ctx, tx, s.fs, ch.Outbox...)
	})
	if domains.ErrNoop(err) {
		return nil
	}
	return err
}

// TenantDomains implements domains.Store.
func (s *DomainsStore) TenantDomains(ctx context.Context, tenantID string) ([]domains.Domain, error) {
	q := s.fs.Collection(colDomainClaims).Where("tenantId", "==", tenantID)
	out, err := queryAll(ctx, decodeWith(toDomain), q, "the domains of "+tenantID)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DueDomains implements domains.Store. It needs the composite index (status ASC, nextCheckAt
// ASC) declared in firestore.indexes.json.
func (s *DomainsStore) DueDomains(ctx context.Context, st domains.Status, cutoff time.Time, limit int) ([]domains.Domain, error) {
	q := s.fs.Collection(colDomainClaims).Where("status", "==", string(st)).Where("nextCheckAt", "<=", cutoff).
		OrderBy("nextCheckAt", firestore.Asc).Limit(limit)
	return queryAll(ctx, decodeWith(toDomain), q, string(st)+" domains due by "+cutoff.Format(time.RFC3339))
}

// TenantName implements domains.Store.
func (s *DomainsStore) TenantName(ctx context.Context, tenantID string) (string, error) {
	t, err := s.Tenant(ctx, tenantID)
	return t.Name, err
}

// colJoinRequests holds joinRequests/{tenantId}_{uid}: a verified signup at a tenant's domain
// waiting for an owner or admin (domains.JoinRequest). Server-owned, top-level.
const colJoinRequests = "joinRequests"

type joinRequestDoc struct {
	TenantID  string    `firestore:"tenantId"`
	UID       string    `firestore:"uid"`
	Email     string    `firestore:"email"`
	Domain    string    `firestore:"domain"`
	Reason    string    `firestore:"reason"`
	CreatedAt time.Time `firestore:"createdAt"`
}

// ChangeEnrollment implements domains.Store, in the tenant's queue like every membership change.
func (s *DomainsStore) ChangeEnrollment(ctx context.Context, tenantID, uid string, decide func(domains.EnrollState) (domains.EnrollChange, error)) error {
	m := s.MembersStore()
	reqRef := s.fs.Collection(colJoinRequests).Doc(tenantID + "_" + uid)
	err := s.locks.runTransaction(ctx, s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{m.tenantRef(tenantID), m.memberRef(tenantID, uid), reqRef})
		if err != nil {
			return fmt.Errorf("read enrollment of %s in %s: %w", uid, tenantID, err)
		}
		t, err := tenantIn(snaps[0])
		if err != nil {
			return err
		}
		st := domains.EnrollState{Tenant: t.Tenant, Member: snaps[1].Exists(), Requested: snaps[2].Exists()}
		if st.Requested {
			if st.Request, err = decodeWith(toJoinRequest)(snaps[2]); err != nil {
				return err
			}
		}
		ch, err := decide(st)
		if err != nil {
			return err
		}
		return s.writeEnrollment(ctx, tx, m, reqRef, tenantID, ch)
	}, firestore.MaxAttempts(txAttempts))
	if domains.ErrNoop(err) {
		return nil
	}
	return err
}

// writeEnrollment adds an enrollment's writes to tx.
func (s *DomainsStore) writeEnrollment(ctx context.Context, tx *firestore.Transaction, m *MembersStore, reqRef *firestore.DocumentRef, tenantID string, ch domains.EnrollChange) error {
	if nm := ch.AddMember; nm != nil {
		if err := m.addMember(tx, tenantID, *nm, ch.At); err != nil {
			return err
		}
		if err := tx.Update(m.tenantRef(tenantID), []firestore.Update{
			{Path: "seatsUsed", Value: ch.SeatsUsed}, {Path: "membersChangedAt", Value: ch.At},
		}); err != nil {
			return fmt.Errorf("count the seat of %s: %w", nm.UID, err)
		}
	}
	if ch.CloseRequest {
		if err := tx.Delete(reqRef); err != nil {
			return fmt.Errorf("close %s: %w", reqRef.Path, err)
		}
	}
	if r := ch.Request; r != nil {
		if err := tx.Create(reqRef, joinRequestDoc{TenantID: r.TenantID, UID: r.UID, Email: r.Email, Domain: r.Domain, Reason: r.Reason, CreatedAt: r.CreatedAt}); err != nil {
			return fmt.Errorf("file the join request of %s: %w", r.UID, err)
		}
	}
	if err := createAudit(tx, m.tenantRef(tenantID), ch.Audit...); err != nil {
		return err
	}
	return createOutbox(ctx, tx, s.fs, ch.Outbox...)
}

func toJoinRequest(_ string, d joinRequestDoc) domains.JoinRequest {
	return domains.JoinRequest{TenantID: d.TenantID, UID: d.UID, Email: d.Email, Domain: d.Domain, Reason: d.Reason, CreatedAt: d.CreatedAt}
}

// JoinRequests implements domains.Store.
func (s *DomainsStore) JoinRequests(ctx context.Context, tenantID string) ([]domains.JoinRequest, error) {
	q := s.fs.Collection(colJoinRequests).Where("tenantId", "==", tenantID)
	out, err := queryAll(ctx, decodeWith(toJoinRequest), q, "the join requests of "+tenantID)
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, err
}
