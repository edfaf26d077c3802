package tests

// Sales-only plans (issue 10, item 7): a plan that is not selfServe is sold by sales only. The
// plans query lists every plan with the flag, provisionTenant and Checkout refuse to enter it,
// and sales (new tenant or conversion) may use any plan.

import (
	"strings"
	"testing"

	"github.com/tenantry/tenantry/internal/testenv"
)

func TestSalesOnlyPlans(t *testing.T) {
	t.Parallel()
	s := shared(t)

	t.Run("plans lists every plan with selfServe", func(t *testing.T) {
		status, data, errs := gql(t, "", `{ plans { id selfServe } }`, nil)
		var d struct {
			Plans []struct {
				ID        string `json:"id"`
				SelfServe bool   `json:"selfServe"`
			} `json:"plans"`
		}
		mustData(t, status, data, errs, &d)
		got := map[string]bool{}
		for _, p := range d.Plans {
			got[p.ID] = p.SelfServe
		}
		want := map[string]bool{"trial": true, "starter": true, "pro": true, "team": true, "enterprise": false}
		if len(got) != len(want) {
			t.Errorf("plans = %v, want %v", got, want)
		}
		for id, w := range want {
			if g, ok := got[id]; !ok || g != w {
				t.Errorf("plan %s: selfServe %v (listed %v), want %v", id, g, ok, w)
			}
		}
	})

	t.Run("provisionTenant refuses a sales-only plan", func(t *testing.T) {
		u := newUser(t)
		sub := uniqueSubdomain()
		_, errs := s.provision(t, u.IDToken, provisionInput(uniqueKey(), "Wants Enterprise", sub, "enterprise"))
		e := wantCode(t, errs, "BAD_USER_INPUT", "planId")
		if !strings.Contains(e.Message, "sales") {
			t.Errorf("message %q does not send the user to sales", e.Message)
		}
		nothingWrittenFor(t, u.UID)
		assertAbsent(t, "subdomains/"+sub)
	})

	t.Run("sales provisions and converts to a sales-only plan", func(t *testing.T) {
		rep := staffUser(t, "sales")
		in := contractInputs(uniqueKey(), "Big Co", freshEmail("big"), "", testenv.UniqueID("OPP-"), "enterprise", 600, goLive(30))
		if p := s.mustProvisionContract(t, rep.IDToken, in); p.Tenant.Plan.ID != "enterprise" || p.Tenant.SeatCap != 600 {
			t.Errorf("contract tenant: plan %s, %d seats; want enterprise, 600", p.Tenant.Plan.ID, p.Tenant.SeatCap)
		}

		owner, id := ownerAndTenant(t, s)
		in = contractInputs(uniqueKey(), "Members Org", freshEmail("conv"), "", testenv.UniqueID("OPP-"), "enterprise", 500, goLive(30))
		in["existingTenantId"] = id
		if p := s.mustProvisionContract(t, rep.IDToken, in); p.Tenant.ID != id || p.Tenant.Plan.ID != "enterprise" {
			t.Fatalf("converted tenant %s on plan %s; want %s on enterprise", p.Tenant.ID, p.Tenant.Plan.ID, id)
		}
		// Its owner then pays for the contracted plan through Checkout like any other.
		status, data, errs := s.gql(t, owner.IDToken, checkoutMutation, map[string]any{"id": id, "plan": "enterprise"})
		if status != 200 || len(errs) != 0 || !strings.Contains(string(data), "https://checkout.stripe.com/") {
			t.Errorf("Checkout of the contracted enterprise plan: HTTP %d %s %+v", status, data, errs)
		}
	})

	t.Run("Checkout does not buy into a sales-only plan", func(t *testing.T) {
		owner, id := ownerAndTenant(t, s)
		_, _, errs := s.gql(t, owner.IDToken, checkoutMutation, map[string]any{"id": id, "plan": "enterprise"})
		if e := wantCode(t, errs, "BAD_USER_INPUT", "planId"); !strings.Contains(e.Message, "sales") {
			t.Errorf("message %q does not send the owner to sales", e.Message)
		}
		if tn := tenantAs(t, s, owner.IDToken, id); tn.Plan.ID != "trial" {
			t.Errorf("plan after the refusal: %s, want trial", tn.Plan.ID)
		}
	})
}
