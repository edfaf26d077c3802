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
		AdminContact: contactDoc{Email: c.AdminContact.Email, Name: c.AdminContact.Name},
	}
}

func toContract(d contractDoc) tenancy.Contract {
	return tenancy.Contract{
		PlanID: d.PlanID, SeatCap: d.SeatCap, GoLiveDate: d.GoLiveDate, SignedAt: d.SignedAt,
		AdminContact: tenancy.Contact{Email: d.AdminContact.Email, Name: d.AdminContact.Name},
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
// status change; and the billing record's planId, when the record exists.
func (s *Store) ConvertToContract(ctx context.Context, tenantID, contactEmail string, decide func(tenancy.ConversionState) (tenancy.Conversion, error)) (tenancy.Tenant, error) {
	tref := s.fs.Collection(colTenants).Doc(tenantID)
	iref := tref.Collection(colInvitations).Doc(tenancy.InvitationID(tenantID, contactEmail))
	bref := s.fs.Collection(colBilling).Doc(tenantID)
	sref := staffRef(tref)
	var out tenancy.Tenant
	err := s.locks.runTransaction(ctx, s.fs, tenantID, func(ctx context.Context, tx *firestore.Transaction) error {
		snaps, err := tx.GetAll([]*firestore.DocumentRef{tref, iref, bref, sref})
		if err != nil {
			return fmt.Errorf("read tenant %s: %w", tenantID, err)
		}
		if !snaps[0].Exists() {
			return errs.ErrNotFound
		}
		var td tenantDoc
		if err := snaps[0].DataTo(&td); err != nil {
			return fmt.Errorf("decode tenant %s: %w", tenantID, err)
		}
		st := tenancy.ConversionState{Tenant: toTenant(tenantID, td), BillingRecordFound: snaps[2].Exists()}
		if snaps[1].Exists() {
			var d invitationDoc
			if err := snaps[1].DataTo(&d); err != nil {
				return fmt.Errorf("decode %s: %w", iref.Path, err)
			}
			st.Invitation = tenancy.ExistingInvitation{Role: rules.Role(d.Role), Status: d.Status, ExpiresAt: d.ExpiresAt}
			st.InvitationFound = true
		}
		if snaps[3].Exists() {
			var d staffDoc
			if err := snaps[3].DataTo(&d); err != nil {
				return fmt.Errorf("decode %s: %w", sref.Path, err)
			}
			st.Staff = toStaffRecord(d)
		}
		found, err := tx.Documents(tref.Collection(colMembers).Where("email", "==", contactEmail).Limit(1)).GetAll()
		if err != nil {
			return fmt.Errorf("look up the named admin among the members of %s: %w", tenantID, err)
		}
		if len(found) > 0 {
			var md memberDoc
			if err := found[0].DataTo(&md); err != nil {
				return fmt.Errorf("decode %s: %w", found[0].Ref.Path, err)
			}
			st.Contact, st.ContactFound = toMember(tenantID, found[0].Ref.ID, md), true
		}

		conv, err := decide(st)
		if err != nil {
			return err
		}
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
		maps.Copy(staff, staffCopies(st.Tenant)) // for a tenant older than its staff record
		if c := conv.Subdomain; c != nil {
			if err := tx.Create(s.fs.Collection(colSubdomains).Doc(c.Subdomain), subdomainDoc{TenantID: c.TenantID, ClaimedAt: c.ClaimedAt}); err != nil {
				return fmt.Errorf("claim subdomain: %w", err)
			}
			ups = append(ups, firestore.Update{Path: "subdomain", Value: c.Subdomain})
		}
		if inv := conv.Invitation; inv != nil {
			// Set, not Create: the named admin's earlier invitation (revoked, expired, used, or
			// pending with another role) is replaced; the transaction read it.
			if err := tx.Set(iref, toDBOwnerInvitation(*inv)); err != nil {
				return fmt.Errorf("write invitation %s: %w", inv.ID, err)
			}
			if err := tx.Create(s.fs.Collection(colInvitationToken).Doc(inv.TokenHash),
				tokenIndexDoc{TenantID: tenantID, InvitationID: inv.ID, CreatedAt: inv.CreatedAt}); err != nil {
				return fmt.Errorf("index invitation token: %w", err)
			}
		}
		if err := s.writeStatusChange(tx, tref, conv.Change, staff, ups...); err != nil {
			return err
		}
		if conv.BillingPlanID != "" {
			if err := tx.Update(bref, []firestore.Update{{Path: "planId", Value: conv.BillingPlanID}, {Path: "updatedAt", Value: conv.Change.At}}); err != nil {
				return fmt.Errorf("update billing record %s: %w", tenantID, err)
			}
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
