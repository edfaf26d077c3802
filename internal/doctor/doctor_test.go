package doctor_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/doctor"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// fixture provisions tenants through the real domain into a Firestore project of the test's own
// (no dispatcher of another test can touch its outbox entries), and runs the doctor on them.
type fixture struct {
	fs     *firestore.Client
	ten    *tenancy.Service
	doctor *doctor.Service
	nextID string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fs := testenv.Require(t).IsolatedProject(t).Firestore(t)
	catalog, err := plans.Default()
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(fs)
	f := &fixture{fs: fs, doctor: doctor.NewService(st.Doctor(), clock.System{}, doctor.Config{})}
	f.ten = tenancy.NewService(st, catalog, clock.System{}, nil, tenancy.Config{IdempotencyRetention: 24 * time.Hour},
		tenancy.WithIDGenerator(func() string { return f.nextID }))
	return f
}

// provisioned is a self-serve tenant as signup leaves it.
type provisioned struct {
	ID, OwnerUID, Subdomain string
}

func (p provisioned) path() string { return "tenants/" + p.ID }

// provision signs a new user up with a tenant of its own, with a subdomain.
func (f *fixture) provision(t *testing.T) provisioned {
	t.Helper()
	p := provisioned{ID: testenv.UniqueID("doc"), OwnerUID: testenv.UniqueID("u"), Subdomain: testenv.UniqueID("sub")}
	f.nextID = p.ID
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UID: p.OwnerUID, Email: p.OwnerUID + "@example.test", EmailVerified: true})
	if _, err := f.ten.ProvisionSelfServe(ctx, tenancy.SelfServeInput{IdempotencyKey: testenv.UniqueID("key"), OrganizationName: "Doctor Org", Subdomain: p.Subdomain}); err != nil {
		t.Fatal(err)
	}
	return p
}

// scan runs the doctor on the named tenants only.
func (f *fixture) scan(t *testing.T, repair bool, ids ...string) doctor.Report {
	t.Helper()
	r, err := f.doctor.Scan(context.Background(), doctor.Options{TenantIDs: ids, Repair: repair})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantKinds fails unless the report's findings are exactly of kinds (with repetitions), each
// with a path, and Clean says whether any is left unrepaired.
func wantKinds(t *testing.T, r doctor.Report, kinds ...doctor.Kind) {
	t.Helper()
	var got []doctor.Kind
	for _, f := range r.Findings {
		got = append(got, f.Kind)
		if f.Path == "" || f.Detail == "" {
			t.Errorf("finding without path or detail: %+v", f)
		}
	}
	slices.Sort(got)
	slices.Sort(kinds)
	if !slices.Equal(got, kinds) {
		t.Fatalf("findings %v, want %v:\n%+v", got, kinds, r.Findings)
	}
	unrepaired := slices.ContainsFunc(r.Findings, func(f doctor.Finding) bool { return !f.Repaired })
	if r.Clean == unrepaired {
		t.Errorf("clean = %v with findings %+v", r.Clean, r.Findings)
	}
}

// finding returns the one finding of kind at path.
func finding(t *testing.T, r doctor.Report, kind doctor.Kind, path string) doctor.Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Kind == kind && f.Path == path {
			return f
		}
	}
	t.Fatalf("no %s finding at %s in %+v", kind, path, r.Findings)
	return doctor.Finding{}
}

// auditActions are the tenant's audit entries written by the doctor.
func (f *fixture) auditActions(t *testing.T, tenantID string) []map[string]any {
	t.Helper()
	return testenv.QueryData(t, f.fs.Collection("tenants").Doc(tenantID).Collection("audit").Where("actorSystem", "==", doctor.Actor))
}

func (f *fixture) data(t *testing.T, path string) map[string]any {
	t.Helper()
	snap, err := f.fs.Doc(path).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap.Data()
}

func TestProvisionedTenantsAreClean(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	self := f.provision(t)
	contract := testenv.UniqueID("doc")
	f.nextID = contract
	sales := auth.WithPrincipal(context.Background(), auth.Principal{UID: testenv.UniqueID("rep"), Email: "rep@example.test", EmailVerified: true, PlatformRole: auth.PlatformSales})
	_, err := f.ten.ProvisionContract(sales, tenancy.ContractInput{
		IdempotencyKey: testenv.UniqueID("key"), OrganizationName: "Contract Co", PlanID: "enterprise", SeatCap: 50,
		GoLiveDate: time.Now().AddDate(0, 1, 0), AdminContact: tenancy.Contact{Email: "admin@example.test"}, ContractReference: "OPP-7",
	})
	if err != nil {
		t.Fatal(err)
	}
	// Both by name and in a scan of the whole project.
	for _, ids := range [][]string{{self.ID, contract}, nil} {
		r := f.scan(t, false, ids...)
		wantKinds(t, r)
		if r.Scanned[doctor.ScannedTenants] != 2 || r.Scanned[doctor.ScannedMembers] != 1 || r.Scanned[doctor.ScannedUserLinks] != 1 ||
			r.Scanned[doctor.ScannedIdempotency] != 2 || r.Scanned[doctor.ScannedSubdomains] != 1 || r.Scanned[doctor.ScannedBilling] != 2 {
			t.Errorf("scanned %v", r.Scanned)
		}
	}
}

func TestOwnerCount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	two, none := f.provision(t), f.provision(t)
	// A second owner, with its link and seat, so that only the owner count is wrong.
	uid := testenv.UniqueID("u")
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{
		two.path() + "/members/" + uid: {"role": "owner", "email": uid + "@example.test", "joinedAt": time.Now()},
		"users/" + uid:                 {"email": uid + "@example.test", "tenantIds": []string{two.ID}},
	})
	testenv.UpdateDoc(t, f.fs, two.path(), map[string]any{"seatsUsed": 2})
	testenv.UpdateDoc(t, f.fs, none.path()+"/members/"+none.OwnerUID, map[string]any{"role": "admin"})

	r := f.scan(t, true, two.ID, none.ID)
	wantKinds(t, r, doctor.KindOwnerCount, doctor.KindOwnerCount)
	if finding(t, r, doctor.KindOwnerCount, two.path()).Repaired || finding(t, r, doctor.KindOwnerCount, none.path()).Repaired {
		t.Error("an owner count was repaired")
	}
}

func TestCountersAreRepairedAndAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provision(t)
	testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"seatsUsed": 3, "pendingInvitations": 2})

	r := f.scan(t, false, p.ID)
	wantKinds(t, r, doctor.KindSeatsUsed, doctor.KindPendingInvitations)
	if got := f.data(t, p.path())["seatsUsed"]; got != int64(3) {
		t.Fatalf("a scan without --repair wrote seatsUsed = %v", got)
	}

	r = f.scan(t, true, p.ID)
	wantKinds(t, r, doctor.KindSeatsUsed, doctor.KindPendingInvitations)
	if !finding(t, r, doctor.KindSeatsUsed, p.path()).Repaired || !r.Clean {
		t.Fatalf("not repaired: %+v", r)
	}
	d := f.data(t, p.path())
	if d["seatsUsed"] != int64(1) || d["pendingInvitations"] != int64(0) {
		t.Errorf("after the repair seatsUsed = %v, pendingInvitations = %v; want 1 and 0", d["seatsUsed"], d["pendingInvitations"])
	}
	audit := f.auditActions(t, p.ID)
	if len(audit) != 1 || audit[0]["action"] != doctor.AuditCountersRepaired || audit[0]["reason"] == "" {
		t.Fatalf("audit entries %v, want one %s", audit, doctor.AuditCountersRepaired)
	}
	if before := audit[0]["before"].(map[string]any); before["seatsUsed"] != int64(3) {
		t.Errorf("audit before = %v", before)
	}
	wantKinds(t, f.scan(t, false, p.ID))
}

func TestUserLinksAreRepairedAndAudited(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	missing, other := f.provision(t), f.provision(t)
	// missing's owner lost its link; other's owner has a link to missing without a membership.
	testenv.UpdateDoc(t, f.fs, "users/"+missing.OwnerUID, map[string]any{"tenantIds": []string{}})
	testenv.UpdateDoc(t, f.fs, "users/"+other.OwnerUID, map[string]any{"tenantIds": []string{other.ID, missing.ID}})

	r := f.scan(t, false, missing.ID, other.ID)
	wantKinds(t, r, doctor.KindMissingUserLink, doctor.KindDanglingUserLink)
	finding(t, r, doctor.KindMissingUserLink, missing.path()+"/members/"+missing.OwnerUID)
	finding(t, r, doctor.KindDanglingUserLink, "users/"+other.OwnerUID)

	r = f.scan(t, true, missing.ID, other.ID)
	if !r.Clean {
		t.Fatalf("not repaired: %+v", r)
	}
	if got := f.data(t, "users/"+missing.OwnerUID)["tenantIds"]; !slices.Equal(got.([]any), []any{missing.ID}) {
		t.Errorf("missing link: tenantIds = %v", got)
	}
	if got := f.data(t, "users/"+other.OwnerUID)["tenantIds"]; !slices.Equal(got.([]any), []any{other.ID}) {
		t.Errorf("dangling link: tenantIds = %v", got)
	}
	audit := f.auditActions(t, missing.ID)
	if len(audit) != 2 || audit[0]["action"] != doctor.AuditUserLinkRepaired || audit[1]["action"] != doctor.AuditUserLinkRepaired {
		t.Fatalf("audit entries of %s: %v, want two %s", missing.ID, audit, doctor.AuditUserLinkRepaired)
	}
	wantKinds(t, f.scan(t, false, missing.ID, other.ID))
}

// A member whose user document is gone entirely gets it back, with the member's email.
func TestMissingUserDocumentIsRecreated(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provision(t)
	if _, err := f.fs.Doc("users/" + p.OwnerUID).Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantKinds(t, f.scan(t, true, p.ID), doctor.KindMissingUserLink)
	if d := f.data(t, "users/"+p.OwnerUID); d["email"] != p.OwnerUID+"@example.test" || !slices.Equal(d["tenantIds"].([]any), []any{p.ID}) {
		t.Errorf("users/%s = %v", p.OwnerUID, d)
	}
}

func TestIdempotencyRecordWithoutTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	gone := testenv.UniqueID("gone")
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{
		"idempotencyRecords/" + gone: {"tenantId": gone, "uid": "u1", "operation": "provisionTenant", "createdAt": time.Now(), "expiresAt": time.Now().Add(time.Hour)},
	})
	r := f.scan(t, true, gone)
	wantKinds(t, r, doctor.KindOrphanIdempotency)
	finding(t, r, doctor.KindOrphanIdempotency, "idempotencyRecords/"+gone)
}

func TestBillingPendingTooLong(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old, fresh := f.provision(t), f.provision(t)
	testenv.UpdateDoc(t, f.fs, "billing/"+old.ID, map[string]any{"createdAt": time.Now().Add(-2 * time.Hour)})
	r := f.scan(t, true, old.ID, fresh.ID)
	wantKinds(t, r, doctor.KindBillingPending)
	if finding(t, r, doctor.KindBillingPending, "billing/"+old.ID).Repaired {
		t.Error("a billing record was repaired")
	}
}

func TestOutboxDeadAndStuck(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provision(t)
	snaps, err := f.fs.Collection("outbox").Where("tenantId", "==", p.ID).Documents(context.Background()).GetAll()
	if err != nil || len(snaps) != 2 {
		t.Fatalf("%d outbox entries (%v), want the welcome and billing entries", len(snaps), err)
	}
	dead, stuck := "outbox/"+snaps[0].Ref.ID, "outbox/"+snaps[1].Ref.ID
	testenv.UpdateDoc(t, f.fs, dead, map[string]any{"state": "dead", "attempts": 8})
	// Leased by a dispatcher that died: the lease (and so the due time) ran out two hours ago.
	testenv.UpdateDoc(t, f.fs, stuck, map[string]any{"nextAttemptAt": time.Now().Add(-2 * time.Hour), "leaseOwner": "gone"})
	r := f.scan(t, true, p.ID)
	wantKinds(t, r, doctor.KindOutboxDead, doctor.KindOutboxStuck)
	finding(t, r, doctor.KindOutboxDead, dead)
	finding(t, r, doctor.KindOutboxStuck, stuck)
}

func TestClaimsWithoutTheirTenant(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p, q := f.provision(t), f.provision(t)
	gone, stray, domain := testenv.UniqueID("gone"), testenv.UniqueID("stray"), testenv.UniqueID("d")+".example"
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{
		"subdomains/" + stray:    {"tenantId": gone, "claimedAt": time.Now()},
		"domainClaims/" + domain: {"tenantId": gone, "status": "verified", "createdAt": time.Now()},
		// q's subdomain claimed for p, which holds another subdomain.
		"subdomains/" + q.Subdomain: {"tenantId": p.ID, "claimedAt": time.Now()},
	})
	// p's claim moved to another name: p's subdomain is unclaimed, the claim names a tenant that
	// does not hold it.
	moved := testenv.UniqueID("moved")
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{"subdomains/" + moved: {"tenantId": p.ID, "claimedAt": time.Now()}})
	if _, err := f.fs.Doc("subdomains/" + p.Subdomain).Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := f.scan(t, true, p.ID, q.ID, gone)
	wantKinds(t, r, doctor.KindSubdomainClaim, doctor.KindSubdomainClaim, doctor.KindSubdomainClaim, doctor.KindDomainClaim,
		doctor.KindSubdomainUnclaimed, doctor.KindSubdomainUnclaimed)
	finding(t, r, doctor.KindSubdomainClaim, "subdomains/"+stray)
	finding(t, r, doctor.KindSubdomainClaim, "subdomains/"+moved)
	finding(t, r, doctor.KindSubdomainClaim, "subdomains/"+q.Subdomain)
	finding(t, r, doctor.KindDomainClaim, "domainClaims/"+domain)
	finding(t, r, doctor.KindSubdomainUnclaimed, p.path())
	finding(t, r, doctor.KindSubdomainUnclaimed, q.path())
}

func TestStatusHistoryReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	valid, unrecorded, illegal := f.provision(t), f.provision(t), f.provision(t)
	at := time.Now()
	entry := func(from, to rules.Status, after time.Duration) map[string]any {
		return map[string]any{"from": string(from), "to": string(to), "reason": "test", "at": at.Add(after)}
	}
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{
		// trial → active, then a plan change (the status stays): replays to active.
		valid.path() + "/history/h1": entry(rules.StatusTrial, rules.StatusActive, time.Second),
		valid.path() + "/history/h2": entry(rules.StatusActive, rules.StatusActive, 2*time.Second),
		// cancelled is terminal: cancelled → active is no move the lifecycle allows.
		illegal.path() + "/history/h1": entry(rules.StatusTrial, rules.StatusCancelled, time.Second),
		illegal.path() + "/history/h2": entry(rules.StatusCancelled, rules.StatusActive, 2*time.Second),
	})
	for _, p := range []provisioned{valid, unrecorded, illegal} {
		testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"status": "active"})
	}
	r := f.scan(t, true, valid.ID, unrecorded.ID, illegal.ID)
	wantKinds(t, r, doctor.KindStatusHistory, doctor.KindStatusHistory)
	finding(t, r, doctor.KindStatusHistory, unrecorded.path())
	finding(t, r, doctor.KindStatusHistory, illegal.path()+"/history/h2")
}

// A scan of the whole project finds every kind of breakage at once, including a record that
// names no tenant at all, which only a full scan can see.
func TestFullScanFindsEveryKind(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.provision(t), f.provision(t)
	now := time.Now()
	testenv.UpdateDoc(t, f.fs, a.path(), map[string]any{"seatsUsed": 9, "pendingInvitations": 4, "status": "suspended"})
	testenv.UpdateDoc(t, f.fs, b.path()+"/members/"+b.OwnerUID, map[string]any{"role": "admin"})
	testenv.UpdateDoc(t, f.fs, "users/"+a.OwnerUID, map[string]any{"tenantIds": []string{b.ID}})
	testenv.UpdateDoc(t, f.fs, "billing/"+a.ID, map[string]any{"createdAt": now.Add(-3 * time.Hour)})
	testenv.WriteDocs(t, f.fs, map[string]map[string]any{
		"idempotencyRecords/none":    {"uid": "u1", "operation": "provisionTenant", "createdAt": now},
		"subdomains/" + a.Subdomain:  {"tenantId": "gone", "claimedAt": now},
		"domainClaims/gone.example":  {"tenantId": "gone", "status": "pending", "createdAt": now},
		"outbox/dead-one":            {"kind": "email.welcome", "tenantId": b.ID, "state": "dead", "attempts": 8, "createdAt": now, "nextAttemptAt": now},
		"outbox/stuck-one":           {"kind": "email.welcome", "tenantId": b.ID, "state": "pending", "attempts": 1, "createdAt": now, "nextAttemptAt": now.Add(-time.Hour)},
		"tenants/" + b.ID + "/x/doc": {"appData": true}, // application data is not the doctor's
	})
	r := f.scan(t, false)
	var kinds []doctor.Kind
	for _, f := range r.Findings {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	for _, k := range doctor.Kinds() {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s finding in %+v", k, r.Findings)
		}
	}
	if r.Clean {
		t.Error("a corrupted project is clean")
	}
}

// racingStore lands a change (before) between the scan's reads and the repair's transaction.
type racingStore struct {
	doctor.Store
	before func()
}

func (r racingStore) RepairCounters(ctx context.Context, tenantID string, decide func(doctor.CounterState) (doctor.CounterFix, error)) error {
	r.before()
	return r.Store.RepairCounters(ctx, tenantID, decide)
}

// The repair recounts inside its transaction: an invitation created after the scan counted is
// counted, not overwritten with the scan's number.
func TestRepairRecountsInsideItsTransaction(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provision(t)
	testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"seatsUsed": 5})
	invite := func() {
		testenv.WriteDocs(t, f.fs, map[string]map[string]any{p.path() + "/invitations/" + p.ID + "_x": {
			"tenantId": p.ID, "email": "x@example.test", "role": "member", "status": "pending", "expiresAt": time.Now().Add(time.Hour),
		}})
		testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"pendingInvitations": 1})
	}
	d := doctor.NewService(racingStore{store.New(f.fs).Doctor(), invite}, clock.System{}, doctor.Config{})
	r, err := d.Scan(context.Background(), doctor.Options{TenantIDs: []string{p.ID}, Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	wantKinds(t, r, doctor.KindSeatsUsed)
	if got := f.data(t, p.path()); got["seatsUsed"] != int64(1) || got["pendingInvitations"] != int64(1) {
		t.Fatalf("after the repair seatsUsed = %v, pendingInvitations = %v; want 1 and 1", got["seatsUsed"], got["pendingInvitations"])
	}
	wantKinds(t, f.scan(t, false, p.ID))
}

// A cancelled tenant whose purge has begun is half deleted by design (members gone, counters
// not yet): the doctor leaves it to the purge job instead of reporting it. The purge unlinks
// users before it deletes members, as here.
func TestTenantBeingPurgedIsNotReported(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	p := f.provision(t)
	testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"status": "cancelled", "purgeStartedAt": time.Now()})
	testenv.UpdateDoc(t, f.fs, "users/"+p.OwnerUID, map[string]any{"tenantIds": firestore.ArrayRemove(p.ID)})
	if _, err := f.fs.Doc(p.path() + "/members/" + p.OwnerUID).Delete(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantKinds(t, f.scan(t, false, p.ID))
	testenv.UpdateDoc(t, f.fs, p.path(), map[string]any{"purgeStartedAt": firestore.Delete})
	r := f.scan(t, false, p.ID)
	if len(r.Findings) == 0 {
		t.Error("the same damage without purgeStartedAt: no finding")
	}
}
