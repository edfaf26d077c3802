package tests

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/identity"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// tryLeave calls leaveTenant as the user with idToken.
func (s *testServer) tryLeave(t testing.TB, idToken, tenantID string) []gqlErr {
	t.Helper()
	st, data, errs := s.gql(t, idToken, `mutation($t: ID!) { leaveTenant(tenantId: $t) }`, map[string]any{"t": tenantID})
	if len(errs) > 0 {
		return errs
	}
	var d struct{ LeaveTenant bool }
	mustData(t, st, data, errs, &d)
	if !d.LeaveTenant {
		t.Fatalf("leaveTenant answered false")
	}
	return nil
}

// The owner cannot leave; a member can, and frees the seat; nobody makes anyone leave another
// tenant.
func TestLeaveTenant(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	otherOwner, otherID := ownerAndTenant(t, s)
	outsider := join(t, s, otherOwner.IDToken, otherID, "ADMIN")

	errs := s.tryLeave(t, owner.IDToken, tenantID)
	if e := wantCode(t, errs, "FORBIDDEN", ""); !strings.Contains(e.Message, "transferOwnership") {
		t.Errorf("message %q does not say to transfer ownership first", e.Message)
	}
	// A member of the other tenant can make nobody leave this one: not themself, not the member.
	wantCode(t, s.tryLeave(t, outsider.IDToken, tenantID), "NOT_FOUND", "")
	_, _, rerrs := s.gql(t, outsider.IDToken, `mutation($t: ID!, $u: ID!) { removeMember(tenantId: $t, userId: $u) }`,
		map[string]any{"t": tenantID, "u": member.UID})
	wantCode(t, rerrs, "NOT_FOUND", "")
	if seats, _ := counters(t, tenantID); seats != 2 {
		t.Fatalf("seatsUsed %d after the refusals, want 2", seats)
	}

	if errs := s.tryLeave(t, member.IDToken, tenantID); errs != nil {
		t.Fatalf("the member leaving: %+v", errs)
	}
	if seats, _ := counters(t, tenantID); seats != 1 {
		t.Errorf("seatsUsed %d, want 1", seats)
	}
	if docExists(t, "tenants/"+tenantID+"/members/"+member.UID) || slices.Contains(userTenantIDs(t, member.UID), tenantID) {
		t.Errorf("the membership or the users/ link is still there")
	}
	if n := countWhere(t, "tenants/"+tenantID+"/audit", "action", "member.left"); n != 1 {
		t.Errorf("%d member.left audit entries, want 1", n)
	}
	wantCode(t, s.tryLeave(t, member.IDToken, tenantID), "NOT_FOUND", "")
}

// A deleted Firebase user frees their seat and their pending invitations' seats; then 10
// concurrent invitations fill exactly the freed seats. A second delivery changes nothing.
func TestDeletedUserFreesSeatsForExactlyThatManyInvitations(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	gone := []testenv.User{join(t, s, owner.IDToken, tenantID, "MEMBER"), join(t, s, owner.IDToken, tenantID, "ADMIN")}
	join(t, s, owner.IDToken, tenantID, "VIEWER")
	setTenant(t, tenantID, map[string]any{"seatCap": 4, "planId": "pro"}) // full: owner and 3 members
	otherOwner, otherID := ownerAndTenant(t, s)
	s.mustInvite(t, otherOwner.IDToken, otherID, gone[0].Email, "MEMBER") // a pending invitation elsewhere

	ctx := context.Background()
	if _, err := s.App.Deletions.OnDeleted(ctx, gone[0].UID, gone[0].Email); !errors.Is(err, identity.ErrUserExists) {
		t.Fatalf("an event about a live user: %v, want ErrUserExists", err)
	}
	for _, u := range gone {
		if err := authAdmin(t).DeleteUser(ctx, u.UID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.App.Deletions.OnDeleted(ctx, u.UID, u.Email); err != nil {
			t.Fatal(err)
		}
	}
	if seats, pending := counters(t, tenantID); seats != 2 || pending != 0 {
		t.Fatalf("seatsUsed %d pendingInvitations %d, want 2 and 0", seats, pending)
	}
	if _, pending := counters(t, otherID); pending != 0 || countInvitations(t, otherID, "revoked") != 1 {
		t.Errorf("the invitation to the deleted user in the other tenant is still pending (%d)", pending)
	}
	if n := countWhere(t, "tenants/"+tenantID+"/audit", "action", "member.user_deleted"); n != 2 {
		t.Errorf("%d member.user_deleted audit entries, want 2", n)
	}
	// A second delivery changes nothing.
	if r, err := s.App.Deletions.OnDeleted(ctx, gone[0].UID, gone[0].Email); err != nil || r.Memberships+r.Invitations != 0 {
		t.Fatalf("second delivery: %+v %v, want nothing done", r, err)
	}
	if seats, _ := counters(t, tenantID); seats != 2 {
		t.Fatalf("seatsUsed %d after the second delivery, want 2", seats)
	}

	got := concurrentInvites(t, s, owner.IDToken, tenantID, 10)
	if got[""] != 2 || got["SEAT_LIMIT_REACHED"] != 8 {
		t.Fatalf("outcomes %v, want 2 invitations and 8 SEAT_LIMIT_REACHED", got)
	}
	if seats, pending := counters(t, tenantID); seats != 2 || pending != 2 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 2 and 2", seats, pending)
	}
}

// A tenant whose owner's account is deleted is flagged, visible in the API, and its admins are
// emailed through the outbox.
func TestDeletedOwnerLeavesTheTenantFlagged(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, tenantID := ownerAndTenant(t, s)
	admin := join(t, s, owner.IDToken, tenantID, "ADMIN")
	ctx := context.Background()
	if err := authAdmin(t).DeleteUser(ctx, owner.UID); err != nil {
		t.Fatal(err)
	}
	r, err := s.App.Deletions.OnDeleted(ctx, owner.UID, "")
	if err != nil || len(r.Ownerless) != 1 || r.Ownerless[0] != tenantID {
		t.Fatalf("forget the owner: %+v %v", r, err)
	}
	st, data, errs := s.gql(t, admin.IDToken, `query($id: ID!) { tenant(id: $id) { seatsUsed ownerlessSince } }`, map[string]any{"id": tenantID})
	var d struct {
		Tenant struct {
			SeatsUsed      int        `json:"seatsUsed"`
			OwnerlessSince *time.Time `json:"ownerlessSince"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &d)
	if d.Tenant.SeatsUsed != 1 || d.Tenant.OwnerlessSince == nil {
		t.Errorf("tenant %+v, want 1 seat used and ownerlessSince set", d.Tenant)
	}
	if !docExists(t, "outbox/email.ownerless-"+tenantID+"-"+owner.UID) {
		t.Errorf("no email.ownerless outbox entry for the tenant")
	}
	if docExists(t, "users/"+owner.UID) {
		t.Errorf("users/%s is still there", owner.UID)
	}
}

// The lazy path: the sweep-deleted-users job forgets users/ documents whose Auth user is gone and
// keeps the others; a second run changes nothing. It scans every users/ document, so it runs in
// a Firestore project of its own.
func TestSweepForgetsOnlyDeletedUsers(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	s := newServer(t, func(c *config.Config) { c.Project = iso.Project }, app.Options{})
	// The Auth emulator keeps users per project: the live user is the isolated project's.
	ctx := context.Background()
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: iso.Project})
	if err != nil {
		t.Fatal(err)
	}
	users, err := fb.Auth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := users.CreateUser(ctx, (&fbauth.UserToCreate{}).Email(testenv.UniqueID("live-")+"@example.test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = users.DeleteUser(context.Background(), rec.UID) })
	live := testenv.User{UID: rec.UID, Email: rec.Email}
	deletedUID := testenv.UniqueID("gone")
	tn := testenv.Tenant{ID: testenv.UniqueID("sw"), Members: []testenv.Member{
		{UID: live.UID, Role: rules.RoleOwner}, {UID: deletedUID, Role: rules.RoleMember},
	}}
	client := s.App.Firestore()
	testenv.SeedTenants(t, client, tn)
	testenv.WriteDocs(t, client, map[string]map[string]any{
		"users/" + live.UID:   {"email": live.Email, "tenantIds": []string{tn.ID}},
		"users/" + deletedUID: {"email": deletedUID + "@example.test", "tenantIds": []string{tn.ID}},
	})
	r, err := s.App.Deletions.Sweep(ctx, nil)
	if err != nil || r.Checked != 2 || r.Forgotten != 1 || r.Memberships != 1 {
		t.Fatalf("sweep: %+v %v, want 2 checked, 1 forgotten", r, err)
	}
	seats, _ := client.Doc(tn.Path()).Get(ctx)
	if v, _ := seats.DataAt("seatsUsed"); v != int64(1) {
		t.Errorf("seatsUsed %v, want 1", v)
	}
	if r, err := s.App.Deletions.Sweep(ctx, nil); err != nil || r.Checked != 1 || r.Forgotten != 0 {
		t.Fatalf("second sweep: %+v %v, want 1 checked, nothing forgotten", r, err)
	}
}
