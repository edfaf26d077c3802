package testenv

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/rules"
)

// Tenant is a tenant document in the contract's layout, with its memberships, for tests that
// write a tenant directly instead of provisioning it (a status, a trial end or a member list
// that no API call gives in one step). Zero fields take the defaults below.
//
//	testenv.SeedTenants(t, fs, testenv.Tenant{ID: id, Status: rules.StatusPastDue,
//		Members: []testenv.Member{{UID: owner.UID, Role: rules.RoleOwner}}})
type Tenant struct {
	ID          string
	Name        string       // default "Test Org <ID>"
	Status      rules.Status // default trial
	PlanID      string       // default starter
	SeatCap     int          // default 5; seatsUsed is the number of Members
	TrialEndsAt time.Time    // default 14 days from now; createdAt is 14 days before it
	// Contract is the tenant's contract field (a signed contract exempts a trial from its end);
	// absent when nil.
	Contract map[string]any
	// GraceEndsAt is the end of a past_due tenant's grace (rules.FieldGraceEndsAt); absent when zero.
	GraceEndsAt time.Time
	CreatedBy   string // default "seed"
	Members     []Member
}

// Member is a membership of a seeded tenant.
type Member struct {
	UID   string
	Role  rules.Role
	Email string // default <UID>@example.test
}

// As is the user's membership with role, for Tenant.Members.
func (u User) As(role rules.Role) Member { return Member{UID: u.UID, Role: role, Email: u.Email} }

// Path is the tenant document's path.
func (tn Tenant) Path() string { return "tenants/" + tn.ID }

// Docs returns the tenant's documents by path: the tenant and one per member, each member
// joined when the tenant was created.
func (tn Tenant) Docs() map[string]map[string]any {
	if tn.Name == "" {
		tn.Name = "Test Org " + tn.ID
	}
	if tn.Status == "" {
		tn.Status = rules.StatusTrial
	}
	if tn.PlanID == "" {
		tn.PlanID = "starter"
	}
	if tn.SeatCap == 0 {
		tn.SeatCap = 5
	}
	if tn.TrialEndsAt.IsZero() {
		tn.TrialEndsAt = time.Now().UTC().AddDate(0, 0, 14)
	}
	if tn.CreatedBy == "" {
		tn.CreatedBy = "seed"
	}
	created := tn.TrialEndsAt.AddDate(0, 0, -14)
	tenant := map[string]any{
		"name": tn.Name, "status": string(tn.Status), "planId": tn.PlanID,
		"seatCap": tn.SeatCap, "seatsUsed": len(tn.Members), "pendingInvitations": 0,
		"trialEndsAt": tn.TrialEndsAt, "source": "self_serve", "createdAt": created,
		"createdBy": tn.CreatedBy, "statusChangedAt": created,
	}
	if tn.Contract != nil {
		tenant["contract"] = tn.Contract
	}
	if !tn.GraceEndsAt.IsZero() {
		tenant[rules.FieldGraceEndsAt] = tn.GraceEndsAt
	}
	docs := map[string]map[string]any{tn.Path(): tenant}
	for _, m := range tn.Members {
		if m.Email == "" {
			m.Email = m.UID + "@example.test"
		}
		docs[tn.Path()+"/members/"+m.UID] = map[string]any{"role": string(m.Role), "email": m.Email, "joinedAt": created}
	}
	return docs
}

// SeedTenants writes tenants and their memberships with the admin client (see WriteDocs).
func SeedTenants(t testing.TB, fs *firestore.Client, tenants ...Tenant) {
	t.Helper()
	docs := map[string]map[string]any{}
	for _, tn := range tenants {
		for path, d := range tn.Docs() {
			docs[path] = d
		}
	}
	WriteDocs(t, fs, docs)
}

// WriteDocs sets documents (slash-separated path → data) with the admin client, which bypasses
// the security rules, in one BulkWriter run; any failure fails the test.
func WriteDocs(t testing.TB, fs *firestore.Client, docs map[string]map[string]any) {
	t.Helper()
	bw := fs.BulkWriter(context.Background())
	jobs := make(map[string]*firestore.BulkWriterJob, len(docs))
	for path, data := range docs {
		j, err := bw.Set(fs.Doc(path), data)
		if err != nil {
			bw.End()
			t.Fatalf("testenv: write %s: %v", path, err)
		}
		jobs[path] = j
	}
	bw.End()
	for path, j := range jobs {
		if _, err := j.Results(); err != nil {
			t.Fatalf("testenv: write %s: %v", path, err)
		}
	}
}

// UpdateDoc changes fields of an existing document (field path → value) with the admin client,
// e.g. to shape a provisioned tenant's seats or status; a missing document fails the test.
func UpdateDoc(t testing.TB, fs *firestore.Client, path string, fields map[string]any) {
	t.Helper()
	ups := make([]firestore.Update, 0, len(fields))
	for k, v := range fields {
		ups = append(ups, firestore.Update{Path: k, Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := fs.Doc(path).Update(ctx, ups); err != nil {
		t.Fatalf("testenv: update %s: %v", path, err)
	}
}

// QueryData returns the data of every document q finds, in the query's order; any failure fails
// the test.
func QueryData(t testing.TB, q firestore.Query) []map[string]any {
	t.Helper()
	snaps, err := q.Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatalf("testenv: query: %v", err)
	}
	out := make([]map[string]any, len(snaps))
	for i, s := range snaps {
		out[i] = s.Data()
	}
	return out
}
