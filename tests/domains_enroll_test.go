package tests

import (
	"context"
	"sync"
	"testing"

	"github.com/tenantry/tenantry/internal/testenv"
)

// Domain capture at signup, through the one signup function (here reached lazily, by the user's
// first authenticated request).

// joinRequest reads joinRequests/{tenantId}_{uid}; nil when there is none.
func joinRequest(t testing.TB, tenantID, uid string) map[string]any {
	t.Helper()
	return doc(t, "joinRequests/"+tenantID+"_"+uid)
}

// verifiedDomain claims a fresh domain for the tenant with enrollment and verifies it.
func (s *testServer) verifiedDomain(t testing.TB, dns *testenv.DNSServer, token, tenantID, enrollment string) string {
	t.Helper()
	d := mustDomain(t)(s.addDomain(t, token, tenantID, uniqueDomain(), enrollment))
	dns.SetTXT(d.TxtRecordName, d.TxtRecordValue)
	if v := mustDomain(t)(s.verifyDomain(t, token, d.ID)); v.Status != "VERIFIED" {
		t.Fatalf("verifyDomain: %+v", v)
	}
	return d.Domain
}

func TestDomainEnrollmentAtSignup(t *testing.T) {
	t.Parallel()
	s, dns := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	name := s.verifiedDomain(t, dns, owner.IDToken, tenantID, "AUTOMATIC")
	env := emulators(t)

	t.Run("an unverified email never joins", func(t *testing.T) {
		u := env.NewUser(t, testenv.UserOptions{Email: testenv.UniqueID("unverified-") + "@" + name})
		if got := roleIn(t, s, u.IDToken, tenantID); got != "" {
			t.Fatalf("role %q; an unverified address must not join by its domain", got)
		}
		if doc(t, "tenants/"+tenantID+"/members/"+u.UID) != nil || joinRequest(t, tenantID, u.UID) != nil {
			t.Fatal("an unverified signup left a membership or a join request")
		}
	})
	t.Run("AUTOMATIC: a verified email joins as a member", func(t *testing.T) {
		u := verifiedUser(t, testenv.UniqueID("ada-")+"@"+name)
		if got := roleIn(t, s, u.IDToken, tenantID); got != "MEMBER" {
			t.Fatalf("role %q; want MEMBER of %s", got, tenantID)
		}
		if seats, _ := counters(t, tenantID); seats != 2 {
			t.Fatalf("seatsUsed %d, want 2 (the owner and the new member)", seats)
		}
	})
	t.Run("REQUEST: a join request, no membership", func(t *testing.T) {
		mustDomain(t)(s.domainCall(t, owner.IDToken, "setDomainEnrollment", `mutation($id: ID!) { setDomainEnrollment(id: $id, enrollment: REQUEST) { `+domainFields+` } }`, map[string]any{"id": name}))
		u := verifiedUser(t, testenv.UniqueID("req-")+"@"+name)
		if got := roleIn(t, s, u.IDToken, tenantID); got != "" {
			t.Fatalf("role %q; REQUEST joins nobody", got)
		}
		if r := joinRequest(t, tenantID, u.UID); r == nil || r["reason"] != "approval" {
			t.Fatalf("join request %v; want one waiting for approval", r)
		}
	})
	t.Run("SUGGEST: nothing", func(t *testing.T) {
		mustDomain(t)(s.domainCall(t, owner.IDToken, "setDomainEnrollment", `mutation($id: ID!) { setDomainEnrollment(id: $id, enrollment: SUGGEST) { `+domainFields+` } }`, map[string]any{"id": name}))
		u := verifiedUser(t, testenv.UniqueID("sug-")+"@"+name)
		if got := roleIn(t, s, u.IDToken, tenantID); got != "" || joinRequest(t, tenantID, u.UID) != nil {
			t.Fatalf("role %q; SUGGEST joins nobody and files nothing", got)
		}
	})
	t.Run("a pending domain routes nobody", func(t *testing.T) {
		other, otherTenant := ownerAndTenant(t, s)
		pending := mustDomain(t)(s.addDomain(t, other.IDToken, otherTenant, uniqueDomain(), "AUTOMATIC"))
		u := verifiedUser(t, testenv.UniqueID("p-")+"@"+pending.Domain)
		if got := roleIn(t, s, u.IDToken, otherTenant); got != "" {
			t.Fatalf("role %q; a PENDING domain joins nobody", got)
		}
	})
}

// Twenty verified signups at once at an AUTOMATIC domain with three free seats: three join, the
// others get join requests, and the tenant never counts more seats than its cap.
func TestDomainEnrollmentKeepsTheSeatCap(t *testing.T) {
	t.Parallel()
	s, dns := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	name := s.verifiedDomain(t, dns, owner.IDToken, tenantID, "AUTOMATIC")
	setTenant(t, tenantID, map[string]any{"seatCap": 4}) // the owner + 3 free seats
	const n = 20
	users := make([]testenv.User, n)
	for i := range users {
		users[i] = verifiedUser(t, testenv.UniqueID("c-")+"@"+name)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	joined := 0
	for _, u := range users {
		wg.Go(func() {
			if roleIn(t, s, u.IDToken, tenantID) == "MEMBER" {
				mu.Lock()
				joined++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	seats, _ := counters(t, tenantID)
	members, err := fs(t).Collection("tenants").Doc(tenantID).Collection("members").Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	requests := 0
	for _, u := range users {
		if r := joinRequest(t, tenantID, u.UID); r != nil && r["reason"] == "seat_limit" {
			requests++
		}
	}
	if joined != 3 || seats != 4 || len(members) != 4 || requests != n-3 {
		t.Fatalf("joined %d, seatsUsed %d, %d member documents, %d join requests; want 3 joined, 4 seats and members, %d requests",
			joined, seats, len(members), requests, n-3)
	}
}

// Join requests: listed for admins, approved within the seat cap, declined.
func TestJoinRequests(t *testing.T) {
	t.Parallel()
	s, dns := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	name := s.verifiedDomain(t, dns, owner.IDToken, tenantID, "REQUEST")
	ada := verifiedUser(t, testenv.UniqueID("ada-")+"@"+name)
	bob := verifiedUser(t, testenv.UniqueID("bob-")+"@"+name)
	roleIn(t, s, ada.IDToken, tenantID) // their first requests run the signup logic
	roleIn(t, s, bob.IDToken, tenantID)

	st, data, errs := s.gql(t, owner.IDToken, `query($id: ID!) { tenant(id: $id) { joinRequests { id email domain reason } } }`, map[string]any{"id": tenantID})
	var q struct {
		Tenant struct {
			JoinRequests []struct{ ID, Email, Domain, Reason string } `json:"joinRequests"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &q)
	if len(q.Tenant.JoinRequests) != 2 || q.Tenant.JoinRequests[0].Reason != "approval" || q.Tenant.JoinRequests[0].Domain != name {
		t.Fatalf("joinRequests %+v; want ada's and bob's", q.Tenant.JoinRequests)
	}
	approve := `mutation($id: ID!) { approveJoinRequest(id: $id) { user { id email } role } }`
	adaID, bobID := tenantID+"_"+ada.UID, tenantID+"_"+bob.UID

	member := join(t, s, owner.IDToken, tenantID, "MEMBER")
	_, _, errs = s.gql(t, member.IDToken, approve, map[string]any{"id": adaID})
	wantCode(t, errs, "FORBIDDEN", "")

	seats, _ := counters(t, tenantID)
	setTenant(t, tenantID, map[string]any{"seatCap": seats})
	_, _, errs = s.gql(t, owner.IDToken, approve, map[string]any{"id": adaID})
	wantCode(t, errs, "SEAT_LIMIT_REACHED", "")

	setTenant(t, tenantID, map[string]any{"seatCap": seats + 1})
	st, data, errs = s.gql(t, owner.IDToken, approve, map[string]any{"id": adaID})
	var a struct {
		ApproveJoinRequest struct{ Role string } `json:"approveJoinRequest"`
	}
	mustData(t, st, data, errs, &a)
	if got := roleIn(t, s, ada.IDToken, tenantID); a.ApproveJoinRequest.Role != "MEMBER" || got != "MEMBER" {
		t.Fatalf("after approval: %+v, role %q", a, got)
	}
	if now, _ := counters(t, tenantID); now != seats+1 || joinRequest(t, tenantID, ada.UID) != nil {
		t.Fatalf("seatsUsed %d (want %d) and the request must be gone", now, seats+1)
	}
	_, _, errs = s.gql(t, owner.IDToken, approve, map[string]any{"id": adaID})
	wantCode(t, errs, "NOT_FOUND", "")

	st, data, errs = s.gql(t, owner.IDToken, `mutation($id: ID!) { declineJoinRequest(id: $id) }`, map[string]any{"id": bobID})
	mustData(t, st, data, errs, &map[string]bool{})
	if joinRequest(t, tenantID, bob.UID) != nil || roleIn(t, s, bob.IDToken, tenantID) != "" {
		t.Fatal("a declined request must be gone, and bob no member")
	}
}
