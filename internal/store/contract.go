package store

import (
	"context"
	"fmt"
	"maps"
	"time"

	"cloud.google.com/go/firestore"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/rules"
)

// contractDoc is tenants/{id}.contract: a signed contract's terms. It sits on the tenant document
// so that the lifecycle (expire-trials) and billing see it with the tenant, in the same read.
// Members read it too, so its reference and who entered it are in the staff record (staffDoc).
type contractDoc struct {
	PlanID       string     `firestore:"planId"`
	SeatCap      int        `firestore:"seatCap"`
	GoLiveDate   time.Time  `firestore:"goLiveDate"`
	SignedAt     time.Time  `firestore:"signedAt"`
	AdminContact contactDoc `firestore:"adminContact"`
	// GraceDays is the contract's past-due grace; absent: the plan's.
	GraceDays *int `firestore:"graceDays,omitempty"`
}

type contactDoc struct {
	Email string `firestore:"email"`
	Name  string `firestore:"name,omitempty"`
}

type contractActorDoc struct {
	UID          string `firestore:"uid"`
	Email        string `firestore:"email"`
	PlatformRole string `firestore:"platformRole"`
}

func toDBContract(c tenancy.Contract) contractDoc {
	return contractDoc{
		PlanID: c.PlanID, SeatCap: c.SeatCap, GoLiveDate: c.GoLiveDate, SignedAt: c.SignedAt,
		AdminContact: contactDoc{Email: c.AdminContact.Email, Name: c.AdminContact.Name}, GraceDays: c.GraceDays,
	}
}

func toContract(d contractDoc) tenancy.Contract {
	return tenancy.Contract{
		PlanID: d.PlanID, SeatCap: d.SeatCap, GoLiveDate: d.GoLiveDate, SignedAt: d.SignedAt,
		AdminContact: tenancy.Contact{Email: d.AdminContact.Email, Name: d.AdminContact.Name}, GraceDays: d.GraceDays,
	}
}

func toDBContractActor(a tenancy.ContractActor) contractActorDoc {
	return contractActorDoc{UID: a.UID, Email: a.Email, PlatformRole: a.PlatformRole}
}

func toContractActor(d contractActorDoc) tenancy.ContractActor {
	return tenancy.ContractActor{UID: d.UID, Email: d.Email, PlatformRole: d.PlatformRole}
}

// toDBOwnerInvitation writes a contract's owner invitation in the members domain's layout, so
// that acceptance, revocation, expiry and the SPA treat it like any other invitation.
func toDBOwnerInvitation(i tenancy.OwnerInvitation) invitationDoc {
	return invitationDoc{
		TenantID: i.TenantID, Email: i.Email, Role: string(rules.RoleOwner), Status: "pending",
		ExpiresAt: i.ExpiresAt, TokenHash: i.TokenHash, InvitedBy: i.InvitedBy, CreatedAt: i.CreatedAt, SentAt: i.CreatedAt,
	}
}

// ConvertToContract implements tenancy.StaffStore. It reads four documents (the tenant, its staff
// record, the named admin's invitation, the billing record) and runs one small query (the named
// admin's membership, by email, within one tenant), and writes the tenant and its staff record
// once each: the contract's terms, and its reference, actor and search tokens, together with the
// status change; and the billing record's planId when the conversion sets it.
func (s *Store) ConvertToContract(ctx context.Context, tenantID, contactEmail string, decide func(tenancy.ConversionState) (tenancy.Conversion, error)) (tenancy.Tenant, error) {
	tref := s.fs.Collection(colTenants).Doc(tenantID)
	refs := conversionRefs{
		tenant: tref, staff: staffRef(tref), billing: s.fs.Collection(colBilling).Doc(tenantID),
		invitation: tref.Collection(colInvitations).Doc(tenancy.InvitationID(tenantID, contactEmail)),
	}
	var out tenancy.Tenant
	err := s.locks.runTransaction(ctx, s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		st, err := refs.read(tx, contactEmail)
		if err != nil {
			return err
		}
		conv, err := decide(st)
		if err != nil {
			return err
		}
		if err := s.writeConversion(ctx, tx, refs, st.Tenant, conv); err != nil {
			return err
		}
		out = conv.Apply(st.Tenant)
		return nil
	})
	if err != nil {
		if status.Code(err) == codes.AlreadyExists {
			return tenancy.Tenant{}, fmt.Errorf("%w: %v", tenancy.ErrConflict, err)
		}
		return tenancy.Tenant{}, err
	}
	return out, nil
}

// conversionRefs are the documents a contract conversion reads and writes.
type conversionRefs struct{ tenant, staff, billing, invitation *firestore.DocumentRef }

// read reads what ConvertToContract hands to decide.
func (r conversionRefs) read(tx *firestore.Transaction, contactEmail string) (tenancy.ConversionState, error) {
	snaps, err := tx.GetAll([]*firestore.DocumentRef{r.tenant, r.invitation, r.billing, r.staff})
	if err != nil {
		return tenancy.ConversionState{}, fmt.Errorf("read tenant %s: %w", r.tenant.ID, err)
	}
	var (
		td tenantDoc
		id invitationDoc
		sd staffDoc
		st tenancy.ConversionState
	)
	found, err := decodeFound(snaps[0], &td)
	if err != nil {
		return tenancy.ConversionState{}, err
	}
	if !found {
		return tenancy.ConversionState{}, errs.ErrNotFound
	}
	if st.InvitationFound, err = decodeFound(snaps[1], &id); err != nil {
		return tenancy.ConversionState{}, err
	}
	if _, err := decodeFound(snaps[3], &sd); err != nil {
		return tenancy.ConversionState{}, err
	}
	st.Tenant, st.Staff, st.BillingRecordFound = toTenant(r.tenant.ID, td), toStaffRecord(sd), snaps[2].Exists()
	if st.InvitationFound {
		st.Invitation = tenancy.ExistingInvitation{Role: rules.Role(id.Role), Status: id.Status, ExpiresAt: id.ExpiresAt}
	}
	contacts, err := tx.Documents(r.tenant.Collection(colMembers).Where("email", "==", contactEmail).Limit(1)).GetAll()
	if err != nil {
		return tenancy.ConversionState{}, fmt.Errorf("look up the named admin among the members of %s: %w", r.tenant.ID, err)
	}
	if len(contacts) > 0 {
		st.Contact, st.ContactFound, err = memberIn(contacts[0], r.tenant.ID)
	}
	return st, err
}

// writeConversion adds a conversion's writes to tx; t is the tenant as read.
func (s *Store) writeConversion(ctx context.Context, tx *firestore.Transaction, refs conversionRefs, t tenancy.Tenant, conv tenancy.Conversion) error {
	if err := tx.Create(s.fs.Collection(colIdempotency).Doc(conv.Idempotency.ID), toDBIdempotency(conv.Idempotency)); err != nil {
		return fmt.Errorf("write idempotency record: %w", err)
	}
	ups := []firestore.Update{
		{Path: "planId", Value: conv.PlanID},
		{Path: "seatCap", Value: conv.SeatCap},
		// The whole map: a reference or actor an older version kept here goes with it.
		{Path: "contract", Value: toDBContract(conv.Contract.Contract)},
		{Path: "pendingInvitations", Value: conv.PendingInvitations},
		pendingExpiryFloorUpdate(conv.PendingExpiryFloor),
		{Path: legacySearchTokens, Value: firestore.Delete},
	}
	staff := map[string]any{
		"searchTokens": conv.SearchTokens,
		"contract": contractEntryDoc{
			Reference: conv.Contract.Reference, ProvisionedBy: toDBContractActor(conv.Contract.ProvisionedBy),
		},
	}
	maps.Copy(staff, staffCopies(t)) // for a tenant older than its staff record
	if c := conv.Subdomain; c != nil {
		if err := tx.Create(s.fs.Collection(colSubdomains).Doc(c.Subdomain), subdomainDoc{TenantID: c.TenantID, ClaimedAt: c.ClaimedAt}); err != nil {
			return fmt.Errorf("claim subdomain: %w", err)
		}
		ups = append(ups, firestore.Update{Path: "subdomain", Value: c.Subdomain})
	}
	if inv := conv.Invitation; inv != nil {
		// Set, not Create: the named admin's earlier invitation (revoked, expired, used, or
		// pending with another role) is replaced; the transaction read it.
		if err := tx.Set(refs.invitation, toDBOwnerInvitation(*inv)); err != nil {
			return fmt.Errorf("write invitation %s: %w", inv.ID, err)
		}
		if err := createTokenIndex(tx, s.fs, inv.TokenHash, tokenIndexDoc{TenantID: t.ID, InvitationID: inv.ID, CreatedAt: inv.CreatedAt}); err != nil {
			return err
		}
	}
	if err := s.writeStatusChange(ctx, tx, refs.tenant, conv.Change, staff, ups...); err != nil {
		return err
	}
	if conv.BillingPlanID == "" {
		return nil
	}
	if err := tx.Update(refs.billing, []firestore.Update{{Path: "planId", Value: conv.BillingPlanID}, {Path: "updatedAt", Value: conv.Change.At}}); err != nil {
		return fmt.Errorf("update billing record %s: %w", t.ID, err)
	}
	return nil
}
