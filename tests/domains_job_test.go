package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// The verify-domains job with a manual clock: a record published late is found by a later run;
// a record never published turns the domain FAILED after 72 hours, with an email to the owner in
// mailpit; a verified domain whose record disappears is flagged to the owner, not dropped. The
// job looks at every due domain, so the test has a Firestore project of its own and calls the
// domain with principals (ID tokens name the shared project).
func TestVerifyDomainsJob(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	dns := testenv.NewDNSServer(t)
	clk := clock.NewManual(time.Now())
	s := newServer(t, func(c *config.Config) {
		c.Project, c.SMTPURL, c.DNSResolver = iso.Project, mp.SMTPURL, dns.Addr
	}, app.Options{Clock: clk})
	a, ctx, box := s.App, context.Background(), mp.NewMailbox()
	owner := auth.WithPrincipal(ctx, auth.Principal{UID: testenv.UniqueID("owner-"), Email: box.Address("owner"), EmailVerified: true})
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Job Org"})
	if err != nil {
		t.Fatal(err)
	}
	// An admin, who hears about domains as the owner does.
	adminEmail := box.Address("admin")
	if _, err := a.Firestore().Doc("tenants/"+p.Tenant.ID+"/members/"+testenv.UniqueID("admin-")).Set(ctx, map[string]any{
		"role": "admin", "email": adminEmail, "joinedAt": clk.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	late, err := a.Domains.Add(owner, p.Tenant.ID, uniqueDomain(), domains.EnrollAutomatic)
	if err != nil {
		t.Fatal(err)
	}
	never, err := a.Domains.Add(owner, p.Tenant.ID, uniqueDomain(), domains.EnrollAutomatic)
	if err != nil {
		t.Fatal(err)
	}
	run := func() domains.CheckResult {
		t.Helper()
		r, err := a.Domains.CheckDue(ctx)
		if err != nil || r.Errors > 0 {
			t.Fatalf("CheckDue: %s, %v", r, err)
		}
		return r
	}
	status := func(d domains.Domain) domains.Domain {
		t.Helper()
		got, err := a.Firestore().Collection("domainClaims").Doc(d.Name).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return domains.Domain{Name: d.Name, Status: domains.Status(got.Data()["status"].(string))}
	}

	if r := run(); r.Checked != 0 {
		t.Fatalf("first run: %s; want nothing due minutes after the claim", r)
	}
	clk.Advance(6 * time.Minute)
	if r := run(); r.Checked != 2 || r.Verified != 0 {
		t.Fatalf("run before any record: %s; want 2 checked, none verified", r)
	}

	t.Run("a record published late is found by a later run", func(t *testing.T) {
		dns.SetTXT(late.TXTRecordName(), late.TXTRecordValue())
		clk.Advance(time.Hour)
		if r := run(); r.Verified != 1 || status(late).Status != domains.StatusVerified {
			t.Fatalf("run after the record appeared: %s, %s; want it verified", r, status(late).Status)
		}
		if rt, err := a.Domains.RouteSignup(ctx, "ada@"+late.Name); err != nil || rt == nil || rt.TenantName != "Job Org" {
			t.Errorf("RouteSignup after the job verified it = %+v, %v", rt, err)
		}
	})

	t.Run("never published: FAILED after 72 hours, and the owner is told", func(t *testing.T) {
		for clk.Now().Before(never.CreatedAt.Add(72*time.Hour)) && status(never).Status == domains.StatusPending {
			clk.Advance(6 * time.Hour)
			run()
		}
		if got := status(never).Status; got != domains.StatusFailed {
			t.Fatalf("status after 72 hours: %s, want failed", got)
		}
		if rt, err := a.Domains.RouteSignup(ctx, "ada@"+never.Name); err != nil || rt != nil {
			t.Errorf("RouteSignup for a FAILED domain = %+v, %v; want nil", rt, err)
		}
		m := wantMail(t, a, box, never.Name+" could not be verified")
		if to := fmt.Sprint(m.To); !strings.Contains(to, box.Address("owner")) || !strings.Contains(to, adminEmail) {
			t.Errorf("the email went to %s; want the owner and the admin", to)
		}
	})

	t.Run("a verified domain that loses its record is flagged to the owner", func(t *testing.T) {
		dns.SetTXT(late.TXTRecordName())
		clk.Advance(25 * time.Hour)
		if r := run(); r.Missing != 1 {
			t.Fatalf("run after the record was removed: %s; want 1 missing", r)
		}
		wantMail(t, a, box, "record of "+late.Name+" is missing")
		clk.Advance(25 * time.Hour)
		if r := run(); r.Missing != 1 {
			t.Fatalf("next run: %s; want it still flagged", r)
		}
		log, err := a.Tenancy.AuditLog(owner, p.Tenant.ID, 50)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action)
		}
		for _, want := range []string{domains.AuditFailed, domains.AuditRecordMissing, domains.AuditVerified} {
			if !strings.Contains(strings.Join(actions, " "), want) {
				t.Errorf("audit log %v has no %s", actions, want)
			}
		}
	})
}

// wantMail delivers the outbox and waits for one email to box whose subject contains subject.
func wantMail(t *testing.T, a *app.App, box testenv.Mailbox, subject string) testenv.MailMessage {
	t.Helper()
	if _, err := a.Outbox.RunPass(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var found []testenv.MailMessage
		for _, m := range box.Messages() {
			if strings.Contains(m.Subject, subject) {
				found = append(found, m)
			}
		}
		if n := len(found); n == 1 {
			return found[0]
		}
		if len(found) > 1 || time.Now().After(deadline) {
			t.Fatalf("%d emails with %q in the subject reached @%s; want 1", len(found), subject, box.Domain)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
