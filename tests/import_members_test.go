package tests

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

const importMembersMutation = `mutation($in: ImportMembersInput!) {
	importMembers(input: $in) { received invited invitationIds replayed rejected { index field reason } }
}`

type gqlMembersReport struct {
	Received      int            `json:"received"`
	Invited       int            `json:"invited"`
	InvitationIDs []string       `json:"invitationIds"`
	Replayed      bool           `json:"replayed"`
	Rejected      []gqlRejection `json:"rejected"`
}

// memberRow is one row of importMembers.
func memberRow(email, role string, appRoles ...string) map[string]any {
	r := map[string]any{"email": email, "role": role}
	if len(appRoles) > 0 {
		r["appRoles"] = appRoles
	}
	return r
}

// freshRows are n rows with addresses of their own, as role.
func freshRows(n int, role string) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = memberRow(freshEmail(fmt.Sprintf("imp%d", i)), role)
	}
	return out
}

// tryImportMembers calls importMembers with token (a service token or an ID token).
func tryImportMembers(srv *testServer, token, tenantID, key string, rows []map[string]any) (*gqlMembersReport, []gqlErr, error) {
	return tryField[gqlMembersReport](srv, token, importMembersMutation, "importMembers",
		map[string]any{"in": map[string]any{"tenantId": tenantID, "members": rows, "idempotencyKey": key}})
}

func mustImportMembers(t testing.TB, srv *testServer, token, tenantID, key string, rows []map[string]any) gqlMembersReport {
	t.Helper()
	r, errs, err := tryImportMembers(srv, token, tenantID, key, rows)
	if err != nil || r == nil {
		t.Fatalf("importMembers(%d rows): %v %+v", len(rows), err, errs)
	}
	return *r
}

// importMembersErr calls importMembers expecting exactly one error with code.
func importMembersErr(t testing.TB, srv *testServer, token, tenantID string, rows []map[string]any, code string) gqlErr {
	t.Helper()
	r, errs, err := tryImportMembers(srv, token, tenantID, uniqueKey(), rows)
	if err != nil {
		t.Fatalf("importMembers: %v", err)
	}
	if r != nil {
		t.Fatalf("importMembers answered %+v, want %s", *r, code)
	}
	return wantCode(t, errs, code, "")
}

// seatTenant is a pro tenant (25 pending invitations allowed) whose owner holds one of seatCap
// seats, with a service token of the members scope.
func seatTenant(t testing.TB, seatCap int, extra ...testenv.Member) (importTenant, string) {
	t.Helper()
	tn := seedTenantWithOwner(t, clinic(t), testenv.Tenant{PlanID: "pro", SeatCap: seatCap, Members: extra})
	token, _ := tn.token(t, "members")
	return tn, token
}

// A batch that fits the seat cap creates every invitation, with its email, as the token.
func TestImportMembersFillsTheFreeSeats(t *testing.T) {
	t.Parallel()
	tn, token := seatTenant(t, 6)
	rows := freshRows(5, "MEMBER")
	rows[0] = memberRow(freshEmail("prac"), "MANAGER", "practitioner")
	rep := mustImportMembers(t, tn.srv, token, tn.id, uniqueKey(), rows)
	if rep.Received != 5 || rep.Invited != 5 || len(rep.InvitationIDs) != 5 || len(rep.Rejected) != 0 || rep.Replayed {
		t.Fatalf("report %+v, want 5 invited", rep)
	}
	if seats, pending := counters(t, tn.id); seats != 1 || pending != 5 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 5", seats, pending)
	}
	first := mustDoc(t, tn.Path()+"/invitations/"+rep.InvitationIDs[0])
	if first["role"] != "manager" || fmt.Sprint(first["appRoles"]) != "[practitioner]" {
		t.Errorf("first invitation %v, want manager with practitioner", first)
	}
	if by, _ := first["invitedBy"].(string); len(by) < len("service-token:") || by[:len("service-token:")] != "service-token:" {
		t.Errorf("invitedBy = %q, want the service token", by)
	}
	if n := countWhere(t, "outbox", "tenantId", tn.id); n != 5 {
		t.Errorf("%d outbox entries, want one email per invitation", n)
	}
	if n := countWhere(t, tn.Path()+"/audit", "action", "member.invited"); n != 5 {
		t.Errorf("%d member.invited audit entries, want 5", n)
	}
}

// One row over the cap: nothing is created, and the error says how many seats are free.
func TestImportMembersOverTheCapCreatesNone(t *testing.T) {
	t.Parallel()
	tn, token := seatTenant(t, 5)
	e := importMembersErr(t, tn.srv, token, tn.id, freshRows(5, "MEMBER"), "SEAT_LIMIT_REACHED")
	if want := "5 needed, 4 free"; !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not say %q", e.Message, want)
	}
	if seats, pending := counters(t, tn.id); seats != 1 || pending != 0 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 0", seats, pending)
	}
	if n := countDocs(t, tn.Path()+"/invitations"); n != 0 {
		t.Errorf("%d invitations written, want none", n)
	}
	if n := countWhere(t, "outbox", "tenantId", tn.id); n != 0 {
		t.Errorf("%d outbox entries, want none", n)
	}
}

// Every bad row is named with its index and field, and the good rows are not invited either.
func TestImportMembersRejectsTheWholeCall(t *testing.T) {
	t.Parallel()
	member := newUser(t)
	tn, token := seatTenant(t, 20, member.As(rules.RoleMember))
	invited := freshEmail("pending")
	mustImportMembers(t, tn.srv, token, tn.id, uniqueKey(), []map[string]any{memberRow(invited, "VIEWER")})
	dup := freshEmail("dup")
	rows := []map[string]any{
		memberRow(freshEmail("ok"), "MEMBER"),
		memberRow(freshEmail("owner"), "OWNER"),
		memberRow(freshEmail("surgeon"), "MEMBER", "surgeon"),
		memberRow(dup, "MEMBER"),
		memberRow(dup, "MEMBER"),
		memberRow(freshEmail("admin"), "ADMIN"),
		memberRow("not an address", "MEMBER"),
		memberRow(member.Email, "MEMBER"),
		memberRow(invited, "MEMBER"),
	}
	rep := mustImportMembers(t, tn.srv, token, tn.id, uniqueKey(), rows)
	want := []struct {
		index int
		field string
	}{{1, "role"}, {2, "appRoles"}, {4, "email"}, {5, "role"}, {6, "email"}, {7, "email"}, {8, "email"}}
	if rep.Invited != 0 || len(rep.InvitationIDs) != 0 || len(rep.Rejected) != len(want) {
		t.Fatalf("report %+v, want %d rejections and nothing invited", rep, len(want))
	}
	for i, w := range want {
		got := rep.Rejected[i]
		if got.Index != w.index || got.Field == nil || *got.Field != w.field || got.Reason == "" {
			t.Errorf("rejection %d = %+v (field %v), want index %d field %s", i, got, got.Field, w.index, w.field)
		}
	}
	if _, pending := counters(t, tn.id); pending != 1 {
		t.Errorf("pendingInvitations %d, want 1 (the earlier invitation only)", pending)
	}
	if n := countDocs(t, tn.Path()+"/invitations"); n != 1 {
		t.Errorf("%d invitations, want the earlier one only", n)
	}
}

// Who may call: a token of another tenant, a token without the scope, a member; and the
// tenant's status.
func TestImportMembersCallers(t *testing.T) {
	t.Parallel()
	member, admin := newUser(t), verifiedUser(t, "")
	tn, token := seatTenant(t, 20, member.As(rules.RoleMember), admin.As(rules.RoleAdmin))
	other, _ := seatTenant(t, 20)
	importOnly, _ := tn.token(t, "import")
	pastDue, pastDueToken := seatTenant(t, 20)
	setTenant(t, pastDue.id, map[string]any{"status": "past_due"})

	importMembersErr(t, tn.srv, token, other.id, freshRows(1, "MEMBER"), "NOT_FOUND")
	importMembersErr(t, tn.srv, importOnly, tn.id, freshRows(1, "MEMBER"), "FORBIDDEN")
	importMembersErr(t, tn.srv, member.IDToken, tn.id, freshRows(1, "MEMBER"), "FORBIDDEN")
	importMembersErr(t, tn.srv, pastDueToken, pastDue.id, freshRows(1, "MEMBER"), "TENANT_READ_ONLY")
	if n := countDocs(t, other.Path()+"/invitations") + countDocs(t, pastDue.Path()+"/invitations") + countDocs(t, tn.Path()+"/invitations"); n != 0 {
		t.Fatalf("%d invitations written by refused calls", n)
	}
	// An admin may invite an admin; a service token may not (see the rejections test).
	rep := mustImportMembers(t, tn.srv, admin.IDToken, tn.id, uniqueKey(), []map[string]any{memberRow(freshEmail("adm"), "ADMIN")})
	if rep.Invited != 1 {
		t.Fatalf("admin's import: %+v", rep)
	}
	if by := mustDoc(t, tn.Path()+"/invitations/"+rep.InvitationIDs[0])["invitedBy"]; by != admin.UID {
		t.Errorf("invitedBy = %v, want the admin", by)
	}
}

// Concurrent batches racing for the last seats never exceed the cap.
func TestImportMembersRaceForTheLastSeats(t *testing.T) {
	t.Parallel()
	tn, token := seatTenant(t, 8) // the owner and 7 free seats: two batches of 3 fit, a third does not
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcome := map[string]int{}
	for range 4 {
		wg.Go(func() {
			r, errs, err := tryImportMembers(tn.srv, token, tn.id, uniqueKey(), freshRows(3, "MEMBER"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				outcome[err.Error()]++
			case r != nil && r.Invited == 3:
				outcome["invited"]++
			case len(errs) > 0:
				outcome[errs[0].Code()]++
			default:
				outcome[fmt.Sprintf("%+v", r)]++
			}
		})
	}
	wg.Wait()
	if outcome["invited"] != 2 || outcome["SEAT_LIMIT_REACHED"] != 2 {
		t.Fatalf("outcomes %v, want 2 batches invited and 2 SEAT_LIMIT_REACHED", outcome)
	}
	if seats, pending := counters(t, tn.id); seats != 1 || pending != 6 {
		t.Errorf("seatsUsed %d pendingInvitations %d, want 1 and 6", seats, pending)
	}
	if n := countInvitations(t, tn.id, "pending"); n != 6 {
		t.Errorf("%d pending invitations, want 6", n)
	}
}

// A retry with the same key answers the same report and sends no email twice (counted in
// mailpit); the same key with other rows is IDEMPOTENCY_KEY_REUSED. The test runs its own outbox
// pass, so it uses a Firestore project of its own, with a service token written there.
func TestImportMembersRetrySendsNoEmailTwice(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	s := newServer(t, func(c *config.Config) { c.Project = iso.Project; c.SMTPURL = mp.SMTPURL }, app.Options{})
	box := mp.NewMailbox()
	tn := testenv.Tenant{ID: testenv.UniqueID("mail"), PlanID: "pro", SeatCap: 10, Members: []testenv.Member{{UID: testenv.UniqueID("own"), Role: rules.RoleOwner}}}
	testenv.SeedTenants(t, s.App.Firestore(), tn)
	token := seedServiceToken(t, s.App.Firestore(), tn.ID, "HR sync", "members")

	rows := []map[string]any{memberRow(box.Address("a"), "MEMBER"), memberRow(box.Address("b"), "VIEWER"), memberRow(box.Address("c"), "MEMBER")}
	key := uniqueKey()
	first := mustImportMembers(t, s, token, tn.ID, key, rows)
	again := mustImportMembers(t, s, token, tn.ID, key, rows)
	if first.Invited != 3 || first.Replayed || !again.Replayed || fmt.Sprint(again.InvitationIDs) != fmt.Sprint(first.InvitationIDs) || again.Invited != 3 {
		t.Fatalf("first %+v, retry %+v: want the same report, replayed", first, again)
	}
	r, errs, err := tryImportMembers(s, token, tn.ID, key, rows[:2])
	if err != nil || r != nil {
		t.Fatalf("other rows under the same key: %+v %v", r, err)
	}
	wantCode(t, errs, "IDEMPOTENCY_KEY_REUSED", "")

	ctx := context.Background()
	if _, err := s.App.Outbox.RunPass(ctx, nil); err != nil {
		t.Fatal(err)
	}
	box.WaitFor(3, 10*time.Second)
	if _, err := s.App.Outbox.RunPass(ctx, nil); err != nil { // nothing is left to send
		t.Fatal(err)
	}
	msgs := box.Messages()
	if len(msgs) != 3 {
		t.Fatalf("mailpit received %d emails, want 3 (one per invitation)", len(msgs))
	}
	body := mp.Message(msgs[0].ID).Text
	if !strings.Contains(body, `the service token "HR sync"`) {
		t.Errorf("the email does not name the service token:\n%s", body)
	}
}

// seedServiceToken writes a service token of tenantID with scopes into fs and returns its bearer.
func seedServiceToken(t testing.TB, fs *firestore.Client, tenantID, name string, scopes ...string) string {
	t.Helper()
	id := rand.Text()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	testenv.WriteDocs(t, fs, map[string]map[string]any{"serviceTokens/" + id: {
		"tenantId": tenantID, "name": name, "scopes": scopes, "createdAt": time.Now(), "createdBy": "seed",
		"secretHash": hex.EncodeToString(sum[:]),
	}})
	return "tnt_" + id + "_" + secret
}
