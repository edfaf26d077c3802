package rules_test

import (
	"testing"
	"time"

	"github.com/tenantry/tenantry/rules"
)

// TestCheckAgreesWithHandWrittenPolicy holds the tables (status, deadlines, actions) to the
// contract's policy as written out by hand, for every situation and role.
func TestCheckAgreesWithHandWrittenPolicy(t *testing.T) {
	now := time.Now()
	for _, s := range situations() {
		eff := s.state(now).Effective(now)
		for _, r := range rules.Roles {
			for _, write := range []bool{false, true} {
				action := rules.ReadData
				if write {
					action = rules.WriteData
				}
				if got, want := rules.Check(eff, r, action) == nil, handAllows(s, r, write); got != want {
					t.Errorf("%s/%s/%s: Check allows=%v, the contract's policy says %v", s.name, r, action, got, want)
				}
			}
		}
	}
}

func TestEffectiveStatus(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	st := func(s rules.Status, end time.Time, contract bool) rules.TenantState {
		return rules.TenantState{Status: s, Times: map[string]time.Time{rules.FieldTrialEndsAt: end}, Has: map[string]bool{rules.FieldContract: contract}}
	}
	cases := []struct {
		name  string
		state rules.TenantState
		want  rules.Status
	}{
		{"trial running", st(rules.StatusTrial, now.Add(time.Second), false), rules.StatusTrial},
		{"trial ends this instant", st(rules.StatusTrial, now, false), rules.StatusTrialExpired},
		{"trial ended", st(rules.StatusTrial, now.Add(-time.Hour), false), rules.StatusTrialExpired},
		{"trial ended with a contract", st(rules.StatusTrial, now.Add(-time.Hour), true), rules.StatusTrial},
		{"trial without an end", st(rules.StatusTrial, time.Time{}, false), rules.StatusTrial},
		{"active past the old trial end", st(rules.StatusActive, now.Add(-time.Hour), false), rules.StatusActive},
		{"past_due", st(rules.StatusPastDue, now.Add(-time.Hour), false), rules.StatusPastDue},
	}
	for _, c := range cases {
		if got := c.state.Effective(now); got != c.want {
			t.Errorf("%s: Effective = %s, want %s", c.name, got, c.want)
		}
	}
}
