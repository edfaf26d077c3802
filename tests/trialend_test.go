package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestTrialPastItsEndIsReadOnlyAtOnce: a trial whose trialEndsAt has passed is read-only in the
// API and in the rules before expire-trials has run (the scheduler may be off for a day), and
// opens again when staff extend it.
func TestTrialPastItsEndIsReadOnlyAtOnce(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, id := ownerAndTenant(t, s)
	write := func() int { return restWrite(t, id, owner.IDToken) }
	if code := write(); code != http.StatusOK {
		t.Fatalf("write in a running trial: HTTP %d, want 200", code)
	}
	setTenant(t, id, map[string]any{"trialEndsAt": time.Now().Add(-time.Minute)})

	tn := tenantAs(t, s, owner.IDToken, id)
	if tn.Status != "TRIAL" || tn.Access.CanWrite || !tn.Access.CanRead || tn.Access.Reason == nil ||
		!strings.Contains(*tn.Access.Reason, "trial ended") {
		t.Errorf("tenant %s access %+v (reason %v); want TRIAL (the job has not run) and read-only with the trial-ended banner",
			tn.Status, tn.Access, tn.Access.Reason)
	}
	_, errs := s.invite(t, owner.IDToken, id, freshEmail("late"), "MEMBER")
	wantCode(t, errs, "TENANT_READ_ONLY", "")
	if code := write(); code != http.StatusForbidden {
		t.Errorf("write through the rules after the trial's end: HTTP %d, want 403", code)
	}

	sales := staffUser(t, "sales")
	status, data, gerrs := s.gql(t, sales.IDToken, `mutation($id: ID!, $end: Time!) { extendTrial(tenantId: $id, trialEndsAt: $end, reason: "pilot extended") { status } }`,
		map[string]any{"id": id, "end": time.Now().Add(72 * time.Hour)})
	mustData(t, status, data, gerrs, &struct{}{})
	if tn := tenantAs(t, s, owner.IDToken, id); !tn.Access.CanWrite {
		t.Errorf("after extendTrial: access %+v, want writable", tn.Access)
	}
	if code := write(); code != http.StatusOK {
		t.Errorf("write after extendTrial: HTTP %d, want 200", code)
	}
}
