package tenancy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/rules"
)

// StaffStore is the persistence of the staff surface: the contract conversion and the staff
// queries. It is part of Store.
type StaffStore interface {
	// ConvertToContract runs one short transaction: it reads the tenant with its StaffRecord, the
	// membership of contactEmail (a query on the tenant's members) and the invitation document
	// InvitationID(tenantID, contactEmail), asks decide what to write, and writes it atomically
	// with the reads: the idempotency record and a subdomain claim create-only (ErrConflict when
	// either exists), the tenant's contract terms, the StaffRecord's search tokens, contract
	// reference and actor, the status change (as ChangeStatus writes it), the invitation with its
	// token index, and the outbox entries. It returns the tenant as
	// converted; a missing tenant is errs.ErrNotFound, and an error from decide is returned as is.
	ConvertToContract(ctx context.Context, tenantID, contactEmail string, decide func(ConversionState) (Conversion, error)) (Tenant, error)
	// ListTenants lists up to limit tenants matching q, newest first (createdAt, then id, both
	// descending), starting after the cursor (the zero cursor starts at the newest).
	ListTenants(ctx context.Context, q TenantQuery, after TenantCursor, limit int) ([]Tenant, error)
	// AuditLog lists up to limit audit entries of a tenant, newest first.
	AuditLog(ctx context.Context, tenantID string, limit int) ([]AuditEntry, error)
	// ReindexSearchTokens rewrites every tenant's search tokens that differ from
	// tokens(name, subdomain, contract reference), reporting progress after each page; it
	// returns how many tenants it scanned and updated. It also moves what tenants provisioned
	// before StaffRecord existed kept on the tenant document into their StaffRecord.
	ReindexSearchTokens(ctx context.Context, tokens func(values ...string) []string, progress func(scanned, updated int)) (int, int, error)
	// StaffRecord reads a tenant's staff-only record; a tenant without one has the zero record.
	StaffRecord(ctx context.Context, tenantID string) (StaffRecord, error)
}

// ReindexSearch writes the search tokens of every tenant whose tokens are missing or stale:
// tenants provisioned before staff search existed, or after a change of the tokens' rules. It
// also moves the staff-only fields older tenants kept on the tenant document (createdBy,
// searchTokens, the contract's reference and provisionedBy) into their StaffRecord. It is
// idempotent and resumable (a second run updates nothing), and safe next to live traffic.
func (s *Service) ReindexSearch(ctx context.Context, progress func(scanned, updated int)) (scanned, updated int, err error) {
	scanned, updated, err = s.store.ReindexSearchTokens(ctx, SearchTokens, progress)
	if err != nil {
		return scanned, updated, fmt.Errorf("reindex search tokens: %w", err)
	}
	return scanned, updated, nil
}

// TenantFilter narrows the staff list of tenants; zero fields do not filter.
type TenantFilter struct {
	Status rules.Status
	Source Source
	// Search matches the start of a word of the name, subdomain or contract reference, or the
	// start of one of them as a whole (see SearchTokens).
	Search string
}

// TenantQuery is a TenantFilter as the store runs it.
type TenantQuery struct {
	Status      rules.Status
	Source      Source
	SearchToken string // matched with array-contains on searchTokens; "" for none
}

// TenantCursor is where a page of tenants starts: after this (createdAt, id).
type TenantCursor struct {
	CreatedAt time.Time
	ID        string
}

// TenantPage is one page of the staff list.
type TenantPage struct {
	Tenants     []TenantEdge
	HasNextPage bool
	EndCursor   string // "" when the page is empty
}

// TenantEdge is a tenant of a page with the cursor that continues after it.
type TenantEdge struct {
	Tenant Tenant
	Cursor string
}

// Bounds of a page of tenants.
const (
	DefaultTenantsPage = 20
	MaxTenantsPage     = 100
)

// forbiddenForNonStaff is the answer to a caller without a platform role.
func forbiddenForNonStaff(what string) error {
	return errs.Detail(errs.ErrForbidden,
		"%s is for platform staff (SUPER_ADMIN, SALES or SUPPORT); ask a super admin if you need access", what)
}

// Tenants is the staff list of tenants (every platform role), newest first, with cursor
// pagination and filters. The cursor is opaque to clients: pageInfo.endCursor of one page is
// `after` of the next.
func (s *Service) Tenants(ctx context.Context, f TenantFilter, first int, after string) (TenantPage, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return TenantPage{}, errs.ErrUnauthenticated
	}
	if !staffCanRead(p.PlatformRole) {
		return TenantPage{}, forbiddenForNonStaff("Listing all organizations")
	}
	if first < 1 || first > MaxTenantsPage {
		return TenantPage{}, errs.Invalid("first", fmt.Sprintf("ask for 1 to %d organizations per page; page on with after", MaxTenantsPage))
	}
	q := TenantQuery{Status: f.Status, Source: f.Source}
	if q.Status != "" && !rules.ValidStatus(q.Status) {
		return TenantPage{}, errs.Invalid("filter.status", "use one of the TenantStatus values")
	}
	if q.Source != "" && q.Source != SourceSelfServe && q.Source != SourceSalesAssisted {
		return TenantPage{}, errs.Invalid("filter.source", "use SELF_SERVE or SALES_ASSISTED")
	}
	if strings.TrimSpace(f.Search) != "" {
		term, ok := SearchTerm(f.Search)
		if !ok {
			return TenantPage{}, errs.Invalid("filter.search", fmt.Sprintf("type at least %d letters or digits of a name, subdomain or contract reference", MinSearchTokenLen))
		}
		q.SearchToken = term
	}
	cursor, err := decodeTenantCursor(after)
	if err != nil {
		return TenantPage{}, err
	}
	// One more than asked says whether another page exists without a count.
	list, err := s.store.ListTenants(ctx, q, cursor, first+1)
	if err != nil {
		return TenantPage{}, fmt.Errorf("list tenants: %w", err)
	}
	var page TenantPage
	if len(list) > first {
		list, page.HasNextPage = list[:first], true
	}
	for _, t := range list {
		page.Tenants = append(page.Tenants, TenantEdge{Tenant: t, Cursor: encodeTenantCursor(TenantCursor{CreatedAt: t.CreatedAt, ID: t.ID})})
	}
	if n := len(page.Tenants); n > 0 {
		page.EndCursor = page.Tenants[n-1].Cursor
	}
	return page, nil
}

// cursorDoc is a cursor's content before base64: the last tenant's ordering values and id.
type cursorDoc struct {
	CreatedAt time.Time `json:"c"`
	ID        string    `json:"i"`
}

func encodeTenantCursor(c TenantCursor) string {
	b, _ := json.Marshal(cursorDoc{CreatedAt: c.CreatedAt.UTC(), ID: c.ID}) // cannot fail: a time and a string
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTenantCursor(s string) (TenantCursor, error) {
	if s == "" {
		return TenantCursor{}, nil
	}
	bad := errs.Invalid("after", "use pageInfo.endCursor of the previous page as it was returned, or leave after out to start at the newest")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 512 {
		return TenantCursor{}, bad
	}
	var d cursorDoc
	if err := json.Unmarshal(b, &d); err != nil || d.ID == "" || d.CreatedAt.IsZero() {
		return TenantCursor{}, bad
	}
	return TenantCursor(d), nil
}

// Bounds of an audit log page.
const (
	DefaultAuditPage = 20
	MaxAuditPage     = 200
)

// AuditLog lists a tenant's audit entries, newest first, for callers who may read its audit log:
// its owners and admins while the status allows reads, and platform staff always.
func (s *Service) AuditLog(ctx context.Context, tenantID string, limit int) ([]AuditEntry, error) {
	if _, err := s.Authorize(ctx, tenantID, rules.ReadAuditLog); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxAuditPage {
		return nil, errs.Invalid("first", fmt.Sprintf("ask for 1 to %d entries", MaxAuditPage))
	}
	list, err := s.store.AuditLog(ctx, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("read audit log of %s: %w", tenantID, err)
	}
	return list, nil
}

// ContractOf returns a tenant's contract (nil when it has none) with how staff entered it, for
// platform staff only: its reference and who entered it are kept in the tenant's StaffRecord,
// out of the members' reach.
func (s *Service) ContractOf(ctx context.Context, tenantID string) (*ContractRecord, error) {
	v, err := s.Tenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if p, _ := auth.FromContext(ctx); !staffCanRead(p.PlatformRole) {
		return nil, forbiddenForNonStaff("The contract record")
	}
	if v.Tenant.Contract == nil {
		return nil, nil
	}
	rec, err := s.store.StaffRecord(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("read the staff record of %s: %w", tenantID, err)
	}
	return &ContractRecord{Contract: *v.Tenant.Contract, Reference: rec.ContractReference, ProvisionedBy: rec.ContractBy}, nil
}

// FieldChange is one field an audited action changed, its values as text ("" with Has… false
// when absent on that side).
type FieldChange struct {
	Field     string
	Before    string
	HasBefore bool
	After     string
	HasAfter  bool
}

// Changes lists the fields whose value differs between e.Before and e.After, sorted by name;
// nested maps are flattened with dotted names ("contract.seatCap"), times are RFC 3339 in UTC,
// lists are JSON (["receptionist"]).
func (e AuditEntry) Changes() []FieldChange {
	before, after := map[string]string{}, map[string]string{}
	flattenAudit("", e.Before, before)
	flattenAudit("", e.After, after)
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	var out []FieldChange
	for _, k := range slices.Sorted(maps.Keys(names)) {
		b, hb := before[k]
		a, ha := after[k]
		if hb && ha && a == b {
			continue
		}
		out = append(out, FieldChange{Field: k, Before: b, HasBefore: hb, After: a, HasAfter: ha})
	}
	return out
}

func flattenAudit(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		switch v := v.(type) {
		case map[string]any:
			flattenAudit(name, v, out)
		case time.Time:
			out[name] = v.UTC().Format(time.RFC3339Nano)
		case []any, []string:
			// A list (app roles) reads as JSON, so an empty list is "[]", not nothing.
			b, _ := json.Marshal(v)
			out[name] = string(b)
		case nil:
		default:
			out[name] = fmt.Sprint(v)
		}
	}
}
