package tenancy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/plans"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

const retention = 30 * 24 * time.Hour // the default; the fixture's service uses it

// seedForPurge writes an active tenant with application data at several depths (one
// subcollection under a document that does not exist), its server-owned subcollections, and a
// record in every top-level collection that names it; plus the same for a neighbour that must
// survive. It returns the owner's uid.
func seedForPurge(t *testing.T, f fixture, id, other string, now time.Time) string {
	t.Helper()
	owner := "u-" + id
	docs := map[string]map[string]any{}
	for _, tn := range []string{id, other} {
		for path, d := range (testenv.Tenant{ID: tn, Status: rules.StatusActive, TrialEndsAt: now.Add(-24 * time.Hour),
			Members: []testenv.Member{{UID: owner, Role: rules.RoleOwner}, {UID: "m-" + tn, Role: rules.RoleMember}}}).Docs() {
			docs[path] = d
		}
		docs["tenants/"+tn]["statusChangedAt"] = now.Add(-time.Hour)
		for i := range 12 {
			docs[fmt.Sprintf("tenants/%s/clients/c%d", tn, i)] = map[string]any{"name": fmt.Sprint("client ", i)}
			docs[fmt.Sprintf("tenants/%s/clients/c%d/notes/n1", tn, i)] = map[string]any{"text": "note"}
		}
		docs["tenants/"+tn+"/ghosts/missing/items/i1"] = map[string]any{"x": 1}
		docs["tenants/"+tn+"/private/staff"] = map[string]any{"createdBy": "seed"}
		docs["tenants/"+tn+"/invitations/inv1"] = map[string]any{"email": "x@example.test", "status": "pending"}
		docs["billing/"+tn] = map[string]any{"tenantId": tn, "stripeCustomerId": "cus_" + tn, "stripeSubscriptionId": "sub_" + tn, "stripeStatus": "active"}
		docs["subdomains/s-"+strings.ToLower(tn)] = map[string]any{"tenantId": tn}
		docs["domainClaims/"+strings.ToLower(tn)+".example"] = map[string]any{"tenantId": tn}
		docs["idempotencyRecords/i-"+tn] = map[string]any{"tenantId": tn}
		docs["serviceTokens/t-"+tn] = map[string]any{"tenantId": tn, "secretHash": "h"}
		docs["invitationTokens/h-"+tn] = map[string]any{"tenantId": tn}
		docs["joinRequests/"+tn+"_x"] = map[string]any{"tenantId": tn}
		docs["outbox/o-"+tn] = map[string]any{"tenantId": tn, "kind": "email.welcome"}
		docs["users/m-"+tn] = map[string]any{"tenantIds": []any{tn}}
	}
	docs["users/"+owner] = map[string]any{"tenantIds": []any{id, other}}
	testenv.WriteDocs(t, f.fs, docs)
	return owner
}

// sideRecords lists the top-level records seedForPurge wrote for tn that exist now.
func sideRecords(t *testing.T, f fixture, tn string) []string {
	t.Helper()
	var out []string
	for _, p := range []string{"billing/" + tn, "subdomains/s-" + strings.ToLower(tn), "domainClaims/" + strings.ToLower(tn) + ".example",
		"idempotencyRecords/i-" + tn, "serviceTokens/t-" + tn, "invitationTokens/h-" + tn, "joinRequests/" + tn + "_x", "outbox/o-" + tn} {
		if snap, err := f.fs.Doc(p).Get(context.Background()); err == nil && snap.Exists() {
			out = append(out, p)
		}
	}
	return out
}

func tenantIDsOf(t *testing.T, f fixture, uid string) []any {
	t.Helper()
	snap, err := f.fs.Doc("users/" + uid).Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := snap.Data()["tenantIds"].([]any)
	return ids
}

func cancel(t *testing.T, f fixture, id string) {
	t.Helper()
	if _, err := f.svc.SetStatus(as("boss", auth.PlatformSuperAdmin), id, rules.StatusCancelled, "customer asked to close the account"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
}

func TestReactivateWithinRetentionKeepsEverything(t *testing.T) {
	clk := clock.NewManual(time.Now())
	f := newFixture(t, clk)
	id, other := testenv.UniqueID("ret"), testenv.UniqueID("nbr")
	seedForPurge(t, f, id, other, clk.Now())
	before := testenv.CountTree(t, f.fs, "tenants/"+id)
	cancel(t, f, id)

	clk.Advance(retention - time.Minute)
	if _, err := f.svc.Reactivate(as("helper", auth.PlatformSupport), id, "changed their mind"); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("support reactivating: %v, want FORBIDDEN (super admins only)", err)
	}
	v, err := f.svc.Reactivate(as("boss", auth.PlatformSuperAdmin), id, "changed their mind")
	if err != nil {
		t.Fatalf("reactivate within retention: %v", err)
	}
	// Seeded active and cancelled by staff: billing never spoke, the trial ended, no contract.
	if v.Tenant.Status != rules.StatusTrialExpired {
		t.Errorf("reactivated to %s, want trial_expired (the trial clock's status)", v.Tenant.Status)
	}
	after := testenv.CountTree(t, f.fs, "tenants/"+id)
	// Cancelling and reactivating each add one history and one audit entry; nothing else moves.
	want := maps.Clone(before)
	want["history"] += 2
	want["audit"] += 2
	if !maps.Equal(after, want) {
		t.Errorf("documents after reactivation %v, want %v", after, want)
	}
	if got := sideRecords(t, f, id); len(got) != 8 {
		t.Errorf("records elsewhere after reactivation: %v, want all 8", got)
	}
	audit := f.auditEntries(t, id)
	if !containsAction(audit, tenancy.AuditReactivate) {
		t.Errorf("no %s audit entry in %v", tenancy.AuditReactivate, audit)
	}
	// A reactivated tenant is no longer the purge's business, however long ago it was cancelled.
	clk.Advance(retention)
	res, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{}, nil)
	if err != nil || res.Purged != 0 {
		t.Fatalf("purge after reactivation: %v, %v; want nothing purged", res, err)
	}
	if got := testenv.CountTree(t, f.fs, "tenants/"+id); !maps.Equal(got, want) {
		t.Errorf("documents after the purge run %v, want %v", got, want)
	}
}

func containsAction(entries []map[string]any, action string) bool {
	for _, e := range entries {
		if e["action"] == action {
			return true
		}
	}
	return false
}

func TestReactivateAfterRetentionIsRefused(t *testing.T) {
	clk := clock.NewManual(time.Now())
	f := newFixture(t, clk)
	id := testenv.UniqueID("late")
	testenv.SeedTenants(t, f.fs, testenv.Tenant{ID: id, Status: rules.StatusActive})
	cancel(t, f, id)
	clk.Advance(retention)
	_, err := f.svc.Reactivate(as("boss", auth.PlatformSuperAdmin), id, "too late")
	wantErr(t, "reactivate at the end of retention", err, errs.ErrInvalidTransition)
	if !strings.Contains(err.Error(), "retention ended") || !strings.Contains(err.Error(), "provision a new organization") {
		t.Errorf("message %q should say the retention ended and what to do", err)
	}
	if got := f.tenant(t, id).Status; got != rules.StatusCancelled {
		t.Errorf("status %s after a refused reactivation, want cancelled", got)
	}
}

func TestPurgeAfterRetention(t *testing.T) {
	clk := clock.NewManual(time.Now())
	f := newFixture(t, clk)
	id, other := testenv.UniqueID("gone"), testenv.UniqueID("kept")
	owner := seedForPurge(t, f, id, other, clk.Now())
	neighbour := testenv.CountTree(t, f.fs, "tenants/"+other)
	cancel(t, f, id)
	before := testenv.CountTree(t, f.fs, "tenants/"+id)

	clk.Advance(retention - time.Second)
	if res, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{}, nil); err != nil || res.Purged != 0 {
		t.Fatalf("purge within retention: %v, %v; want nothing purged", res, err)
	}
	clk.Advance(time.Second)
	res, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{BatchSize: 7}, nil)
	if err != nil || res.Purged != 1 {
		t.Fatalf("purge after retention: %v, %v; want 1 tenant purged", res, err)
	}
	assertPurged(t, f, id, other, owner, testenv.Total(before))
	if got := testenv.CountTree(t, f.fs, "tenants/"+other); !maps.Equal(got, neighbour) {
		t.Errorf("the neighbour's documents %v, want %v untouched", got, neighbour)
	}
	stone := f.fs.Doc("purgedTenants/" + id)
	first, err := stone.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	res, err = f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{}, nil)
	if err != nil || res != (tenancy.PurgeResult{}) {
		t.Fatalf("second purge run: %+v, %v; want nothing done", res, err)
	}
	second, err := stone.Get(context.Background())
	if err != nil || !second.UpdateTime.Equal(first.UpdateTime) {
		t.Errorf("the second run changed the tombstone (%v)", err)
	}
	_, err = f.svc.Reactivate(as("boss", auth.PlatformSuperAdmin), id, "too late")
	wantErr(t, "reactivate a purged tenant", err, errs.ErrNotFound)
}

// assertPurged checks that nothing of id is left but its tombstone, which counts every document
// deleted (docs under the tenant) and names no person, and that other's records are all there.
func assertPurged(t *testing.T, f fixture, id, other, owner string, docs int) {
	t.Helper()
	if left := testenv.CountTree(t, f.fs, "tenants/"+id); testenv.Total(left) != 0 {
		t.Errorf("documents left under the purged tenant: %v", left)
	}
	if got := sideRecords(t, f, id); len(got) != 0 {
		t.Errorf("records left elsewhere: %v", got)
	}
	if got := tenantIDsOf(t, f, owner); len(got) != 1 || got[0] != other {
		t.Errorf("the owner's tenantIds %v, want only %s", got, other)
	}
	if got := sideRecords(t, f, other); len(got) != 8 {
		t.Errorf("the neighbour's records elsewhere: %v, want all 8", got)
	}
	snap, err := f.fs.Doc("purgedTenants/" + id).Get(context.Background())
	if err != nil {
		t.Fatalf("tombstone: %v", err)
	}
	d := snap.Data()
	counts, _ := d["counts"].(map[string]any)
	if d["state"] != "purged" || counts["documents"] != int64(docs) || counts["billing"] != int64(1) || counts["userLinks"] != int64(2) {
		t.Errorf("tombstone %v, want state purged, %d documents, 1 billing record, 2 user links", d, docs)
	}
	if d["stripeSubscriptionId"] != "sub_"+id {
		t.Errorf("tombstone keeps stripeSubscriptionId %v, want sub_%s", d["stripeSubscriptionId"], id)
	}
	for _, personal := range []string{"name", "subdomain", "email"} {
		if _, ok := d[personal]; ok {
			t.Errorf("tombstone holds %s", personal)
		}
	}
}

func TestPurgeInterruptedMidwayFinishesOnRerun(t *testing.T) {
	clk := clock.NewManual(time.Now())
	f := newFixture(t, clk)
	id, other := testenv.UniqueID("cut"), testenv.UniqueID("nbr")
	owner := seedForPurge(t, f, id, other, clk.Now())
	cancel(t, f, id)
	before := testenv.CountTree(t, f.fs, "tenants/"+id)
	clk.Advance(retention + time.Hour)

	// Nine commits: the seven linked records, the users' links and the billing record, then
	// the first few documents under the tenant.
	res, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{BatchSize: 4, MaxBatches: 12}, nil)
	if !errors.Is(err, tenancy.ErrPurgeStopped) || res.Purged != 0 || res.Documents <= 10 {
		t.Fatalf("stopped run: %+v, %v; want ErrPurgeStopped after 12 batches, some under the tenant", res, err)
	}
	if left := testenv.Total(testenv.CountTree(t, f.fs, "tenants/"+id)); left == 0 {
		t.Fatal("the stopped run deleted everything; the test needs it to stop midway")
	}
	// Past the point of no return: once the purge has begun the tenant cannot come back
	// half-deleted, even where a longer retention (the setting raised meanwhile) would allow it.
	catalog, _ := plans.Default()
	longer := tenancy.NewService(f.st, catalog, clk, nil, tenancy.Config{CancelledRetention: 3 * retention})
	_, err = longer.Reactivate(as("boss", auth.PlatformSuperAdmin), id, "wait")
	wantErr(t, "reactivate during the purge", err, errs.ErrInvalidTransition)
	if !strings.Contains(err.Error(), "being deleted") {
		t.Errorf("message %q should say the data is being deleted", err)
	}

	// A run whose context is cancelled stops too, and a later run finishes.
	ctx, stop := context.WithCancel(context.Background())
	stop()
	if _, err := f.svc.PurgeCancelled(ctx, tenancy.PurgeOptions{}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v, want context.Canceled", err)
	}
	res, err = f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{}, nil)
	if err != nil || res.Purged != 1 {
		t.Fatalf("rerun: %+v, %v; want the purge finished", res, err)
	}
	assertPurged(t, f, id, other, owner, testenv.Total(before))
}

// TestPurgeEmitsTenantPurgedOnce: with events on, the purge deletes the tenant's own outbox
// entries (its earlier events among them) and leaves exactly one: tenant.purged, written by the
// commit that deletes the tenant document. A purge interrupted and resumed, and a second run,
// write no other.
func TestPurgeEmitsTenantPurgedOnce(t *testing.T) {
	clk := clock.NewManual(time.Now())
	f := newFixture(t, clk)
	catalog, _ := plans.Default()
	f.svc = tenancy.NewService(f.st, catalog, clk, nil, tenancy.Config{Events: tenancy.NewEvents(true)})
	id, other := testenv.UniqueID("evt"), testenv.UniqueID("nbr")
	seedForPurge(t, f, id, other, clk.Now())
	cancel(t, f, id)
	if n := len(appEventsOf(t, f, id)); n == 0 {
		t.Fatal("the cancellation wrote no event; the test needs one for the purge to delete")
	}
	clk.Advance(retention + time.Hour)

	if _, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{BatchSize: 4, MaxBatches: 5}, nil); !errors.Is(err, tenancy.ErrPurgeStopped) {
		t.Fatalf("stopped run: %v, want ErrPurgeStopped", err)
	}
	purgedAt := clk.Now()
	for range 2 { // the run that finishes, then one with nothing left to do
		if _, err := f.svc.PurgeCancelled(context.Background(), tenancy.PurgeOptions{BatchSize: 4}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got := appEventsOf(t, f, id)
	if len(got) != 1 || got[0]["type"] != "tenant.purged" {
		t.Fatalf("app events naming the purged tenant: %v; want exactly one, tenant.purged", got)
	}
	var data tenancy.TenantPurged
	if err := json.Unmarshal([]byte(got[0]["data"].(string)), &data); err != nil {
		t.Fatal(err)
	}
	if data.TenantID != id || !data.PurgedAt.Equal(purgedAt.UTC().Truncate(time.Microsecond)) {
		t.Errorf("tenant.purged data %+v, want tenant %s purged at %s", data, id, purgedAt)
	}
}

// appEventsOf returns the payloads of the app.event outbox entries naming tenant id.
func appEventsOf(t *testing.T, f fixture, id string) []map[string]any {
	t.Helper()
	snaps, err := f.fs.Collection("outbox").Where("tenantId", "==", id).Where("kind", "==", kinds.AppEvent{}.Kind()).Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]map[string]any, len(snaps))
	for i, s := range snaps {
		out[i], _ = s.Data()["payload"].(map[string]any)
	}
	return out
}
