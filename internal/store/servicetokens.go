package store

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/servicetokens"
	"github.com/tenantry/tenantry/internal/tenancy"
)

// colServiceTokens is serviceTokens/{id}: top level, so that a request's token is one point read
// by the id it carries. No rule matches it, so clients can neither read nor write it.
const colServiceTokens = "serviceTokens"

// ServiceTokens implements servicetokens.Store on Firestore.
//
// Query and its index: tokens of a tenant, serviceTokens where tenantId == (single-field, automatic).
type ServiceTokens struct {
	fs    *firestore.Client
	locks *tenantLocks
}

// ServiceTokens returns the service tokens' persistence on the same client, whose transactions
// queue per tenant with all of s's (see tenantLocks).
func (s *Store) ServiceTokens() *ServiceTokens { return &ServiceTokens{fs: s.fs, locks: s.locks} }

var _ servicetokens.Store = (*ServiceTokens)(nil)

// serviceTokenDoc is serviceTokens/{id}. secretHash is the hex SHA-256 of the secret, never the
// secret itself.
type serviceTokenDoc struct {
	TenantID   string     `firestore:"tenantId"`
	Name       string     `firestore:"name"`
	Scopes     []string   `firestore:"scopes"`
	CreatedAt  time.Time  `firestore:"createdAt"`
	CreatedBy  string     `firestore:"createdBy"`
	ExpiresAt  *time.Time `firestore:"expiresAt,omitempty"`
	LastUsedAt *time.Time `firestore:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `firestore:"revokedAt,omitempty"`
	RevokedBy  string     `firestore:"revokedBy,omitempty"`
	SecretHash string     `firestore:"secretHash"`
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOf(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

func toDBServiceToken(t servicetokens.Token) serviceTokenDoc {
	return serviceTokenDoc{
		TenantID: t.TenantID, Name: t.Name, Scopes: t.Scopes, CreatedAt: t.CreatedAt, CreatedBy: t.CreatedBy,
		ExpiresAt: optionalTime(t.ExpiresAt), LastUsedAt: optionalTime(t.LastUsedAt), RevokedAt: optionalTime(t.RevokedAt),
		RevokedBy: t.RevokedBy, SecretHash: t.SecretHash,
	}
}

func toServiceToken(id string, d serviceTokenDoc) servicetokens.Token {
	return servicetokens.Token{
		ID: id, TenantID: d.TenantID, Name: d.Name, Scopes: d.Scopes, CreatedAt: d.CreatedAt, CreatedBy: d.CreatedBy,
		ExpiresAt: timeOf(d.ExpiresAt), LastUsedAt: timeOf(d.LastUsedAt), RevokedAt: timeOf(d.RevokedAt),
		RevokedBy: d.RevokedBy, SecretHash: d.SecretHash,
	}
}

func (st *ServiceTokens) ref(id string) *firestore.DocumentRef {
	return st.fs.Collection(colServiceTokens).Doc(id)
}

// CreateToken implements servicetokens.Store.
func (st *ServiceTokens) CreateToken(ctx context.Context, tenantID, actorUID string, decide func(servicetokens.Access) (servicetokens.Token, tenancy.AuditEntry, error)) error {
	tref := st.fs.Collection(colTenants).Doc(tenantID)
	return st.locks.runTransaction(ctx, st.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		a, err := txTenantAccess(tx, tref, actorUID)
		if err != nil {
			return err
		}
		t, entry, err := decide(servicetokens.Access{Tenant: a.tenant, Member: a.member, IsMember: a.isMember})
		if err != nil {
			return err
		}
		if err := tx.Create(st.ref(t.ID), toDBServiceToken(t)); err != nil {
			return fmt.Errorf("write service token: %w", err)
		}
		return createAudit(tx, tref, entry)
	})
}

// RevokeToken implements servicetokens.Store.
func (st *ServiceTokens) RevokeToken(ctx context.Context, id, actorUID string, decide func(servicetokens.Token, servicetokens.Access) (servicetokens.Token, *tenancy.AuditEntry, error)) error {
	t, err := st.Token(ctx, id) // the token names its tenant, whose transactions this one queues with
	if err != nil {
		return err
	}
	tref := st.fs.Collection(colTenants).Doc(t.TenantID)
	return st.locks.runTransaction(ctx, st.fs, t.TenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		var d serviceTokenDoc
		if err := txGet(tx, st.ref(id), &d); err != nil {
			return err
		}
		a, err := txTenantAccess(tx, tref, actorUID)
		if err != nil {
			return err
		}
		next, entry, err := decide(toServiceToken(id, d), servicetokens.Access{Tenant: a.tenant, Member: a.member, IsMember: a.isMember})
		if err != nil || entry == nil {
			return err
		}
		if err := tx.Set(st.ref(id), toDBServiceToken(next)); err != nil {
			return fmt.Errorf("write service token: %w", err)
		}
		return createAudit(tx, tref, *entry)
	})
}

// Token implements servicetokens.Store.
func (st *ServiceTokens) Token(ctx context.Context, id string) (servicetokens.Token, error) {
	var d serviceTokenDoc
	if err := get(ctx, st.ref(id), &d); err != nil {
		return servicetokens.Token{}, err
	}
	return toServiceToken(id, d), nil
}

// TenantTokens implements servicetokens.Store.
func (st *ServiceTokens) TenantTokens(ctx context.Context, tenantID string, limit int) ([]servicetokens.Token, error) {
	q := st.fs.Collection(colServiceTokens).Where("tenantId", "==", tenantID).Limit(limit)
	return queryAll(ctx, decodeWith(toServiceToken), q, "service tokens of "+tenantID)
}

// TouchToken implements servicetokens.Store.
func (st *ServiceTokens) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := st.ref(id).Update(ctx, []firestore.Update{{Path: "lastUsedAt", Value: at}})
	return err
}

// tenantAccess is a tenant read in a transaction with one user's membership in it.
type tenantAccess struct {
	tenant   tenancy.Tenant
	member   tenancy.Member
	isMember bool
}

// txTenantAccess reads tenant tref and uid's membership in it in one round trip (the tenant
// alone when uid is ""); errs.ErrNotFound when the tenant does not exist.
func txTenantAccess(tx *firestore.Transaction, tref *firestore.DocumentRef, uid string) (tenantAccess, error) {
	snaps, err := tx.GetAll(accessRefs(tref, uid))
	if err != nil {
		return tenantAccess{}, fmt.Errorf("read tenant %s: %w", tref.ID, err)
	}
	return decodeAccess(tref, uid, snaps)
}

// accessRefs are the documents tenantAccess is read from: the tenant, and uid's membership
// unless uid is "".
func accessRefs(tref *firestore.DocumentRef, uid string) []*firestore.DocumentRef {
	refs := []*firestore.DocumentRef{tref}
	if uid != "" {
		refs = append(refs, tref.Collection(colMembers).Doc(uid))
	}
	return refs
}

// decodeAccess decodes what accessRefs read.
func decodeAccess(tref *firestore.DocumentRef, uid string, snaps []*firestore.DocumentSnapshot) (tenantAccess, error) {
	if !snaps[0].Exists() {
		return tenantAccess{}, errs.ErrNotFound
	}
	var td tenantDoc
	if err := snaps[0].DataTo(&td); err != nil {
		return tenantAccess{}, fmt.Errorf("decode tenant %s: %w", tref.ID, err)
	}
	a := tenantAccess{tenant: toTenant(tref.ID, td)}
	var err error
	if uid != "" {
		a.member, a.isMember, err = memberIn(snaps[1], tref.ID)
	}
	return a, err
}
