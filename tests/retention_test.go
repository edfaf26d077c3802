package tests

import (
	"encoding/json"
	"testing"
	"time"
)

// reactivateTenant over HTTP: super admins only, audited, and purgeAfter says until when.
func TestReactivateTenantAPI(t *testing.T) {
	s := shared(t)
	owner := verifiedUser(t, "")
	tenantID := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Leaving Soon", "", "")).Tenant.ID
	boss, helper := staffUser(t, "super_admin"), staffUser(t, "support")
	vars := map[string]any{"t": tenantID}
	if _, _, errs := s.gql(t, boss.IDToken, `mutation($t: ID!) { setTenantStatus(tenantId: $t, status: CANCELLED, reason: "customer left") { id } }`, vars); errs != nil {
		t.Fatalf("cancel: %+v", errs)
	}
	_, data, errs := s.gql(t, boss.IDToken, `query($t: ID!) { tenant(id: $t) { status purgeAfter } }`, vars)
	if errs != nil {
		t.Fatalf("tenant: %+v", errs)
	}
	var got struct {
		Tenant struct {
			Status     string     `json:"status"`
			PurgeAfter *time.Time `json:"purgeAfter"`
		} `json:"tenant"`
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if want := time.Now().Add(30 * 24 * time.Hour); got.Tenant.PurgeAfter == nil || got.Tenant.PurgeAfter.Sub(want).Abs() > time.Minute {
		t.Errorf("purgeAfter %v, want about %v (30 days after the cancellation)", got.Tenant.PurgeAfter, want)
	}

	reactivate := `mutation($t: ID!) { reactivateTenant(tenantId: $t, reason: "signed again") { status purgeAfter } }`
	for _, token := range []string{owner.IDToken, helper.IDToken} {
		_, _, errs := s.gql(t, token, reactivate, vars)
		wantCode(t, errs, "FORBIDDEN", "")
	}
	_, data, errs = s.gql(t, boss.IDToken, reactivate, vars)
	if errs != nil {
		t.Fatalf("reactivate: %+v", errs)
	}
	var back struct {
		ReactivateTenant struct {
			Status     string     `json:"status"`
			PurgeAfter *time.Time `json:"purgeAfter"`
		} `json:"reactivateTenant"`
	}
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	// A fresh self-serve tenant: billing has not spoken and its trial runs.
	if back.ReactivateTenant.Status != "TRIAL" || back.ReactivateTenant.PurgeAfter != nil {
		t.Errorf("after reactivation %+v, want TRIAL with no purgeAfter", back.ReactivateTenant)
	}
	_, _, errs = s.gql(t, boss.IDToken, reactivate, vars)
	wantCode(t, errs, "INVALID_TRANSITION", "")
}
