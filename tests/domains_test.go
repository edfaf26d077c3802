package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/testenv"
)

// Domain capture over the API, against a real DNS server on loopback (testenv.NewDNSServer)
// that the test publishes the challenges in.

type gqlDomain struct {
	ID             string     `json:"id"`
	Domain         string     `json:"domain"`
	Status         string     `json:"status"`
	Enrollment     string     `json:"enrollment"`
	TxtRecordName  string     `json:"txtRecordName"`
	TxtRecordValue string     `json:"txtRecordValue"`
	VerifiedAt     *time.Time `json:"verifiedAt"`
	LastCheckedAt  *time.Time `json:"lastCheckedAt"`
}

const domainFields = `id domain status enrollment txtRecordName txtRecordValue verifiedAt lastCheckedAt`

// domainServer is an app whose DNS lookups go to a loopback DNS server of the test's own.
func domainServer(t *testing.T, mutate func(*config.Config)) (*testServer, *testenv.DNSServer) {
	t.Helper()
	dns := testenv.NewDNSServer(t)
	s := newServer(t, func(c *config.Config) {
		c.DNSResolver, c.DNSTimeout = dns.Addr, time.Second
		if mutate != nil {
			mutate(c)
		}
	}, app.Options{})
	return s, dns
}

// uniqueDomain is a registrable domain of the test's own.
func uniqueDomain() string { return testenv.UniqueID("d-") + ".test" }

func (s *testServer) domainCall(t testing.TB, token, field, query string, vars map[string]any) (*gqlDomain, []gqlErr) {
	t.Helper()
	st, data, errs := s.gql(t, token, query, vars)
	if len(errs) > 0 {
		return nil, errs
	}
	var d map[string]*gqlDomain
	mustData(t, st, data, nil, &d)
	return d[field], nil
}

func (s *testServer) addDomain(t testing.TB, token, tenantID, domain string, enrollment any) (*gqlDomain, []gqlErr) {
	t.Helper()
	q := `mutation($t: ID!, $d: String!, $e: DomainEnrollment) { addDomain(tenantId: $t, domain: $d, enrollment: $e) { ` + domainFields + ` } }`
	return s.domainCall(t, token, "addDomain", q, map[string]any{"t": tenantID, "d": domain, "e": enrollment})
}

func (s *testServer) verifyDomain(t testing.TB, token, id string) (*gqlDomain, []gqlErr) {
	t.Helper()
	q := `mutation($id: ID!) { verifyDomain(id: $id) { ` + domainFields + ` } }`
	return s.domainCall(t, token, "verifyDomain", q, map[string]any{"id": id})
}

// mustDomain(t)(call) is the domain a call answered, or fails the test.
func mustDomain(t testing.TB) func(*gqlDomain, []gqlErr) gqlDomain {
	return func(d *gqlDomain, errs []gqlErr) gqlDomain {
		t.Helper()
		if len(errs) > 0 || d == nil {
			t.Fatalf("domain call: %+v", errs)
		}
		return *d
	}
}

type gqlRouting struct {
	TenantName string `json:"tenantName"`
	Enrollment string `json:"enrollment"`
}

// signupRouting asks anonymously, as the SPA's signup form does.
func (s *testServer) signupRouting(t testing.TB, email string) (*gqlRouting, []gqlErr) {
	t.Helper()
	st, data, errs := s.gql(t, "", `query($e: String!) { signupRouting(email: $e) { tenantName enrollment } }`, map[string]any{"e": email})
	if len(errs) > 0 {
		return nil, errs
	}
	var d struct {
		SignupRouting *gqlRouting `json:"signupRouting"`
	}
	mustData(t, st, data, nil, &d)
	return d.SignupRouting, nil
}

func (s *testServer) mustNotRoute(t testing.TB, email, why string) {
	t.Helper()
	if r, errs := s.signupRouting(t, email); r != nil || len(errs) > 0 {
		t.Errorf("signupRouting(%s) = %+v, %+v; want null: %s", email, r, errs, why)
	}
}

func TestDomainCaptureHappyPath(t *testing.T) {
	t.Parallel()
	s, dns := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	name := uniqueDomain()

	d := mustDomain(t)(s.addDomain(t, owner.IDToken, tenantID, strings.ToUpper(name)+".", "AUTOMATIC"))
	if d.ID != name || d.Domain != name || d.Status != "PENDING" || d.Enrollment != "AUTOMATIC" ||
		d.TxtRecordName != "_tenantry-challenge."+name || !strings.HasPrefix(d.TxtRecordValue, "tenantry-verification=") || len(d.TxtRecordValue) < 40 {
		t.Fatalf("addDomain = %+v; want a PENDING claim on %s with its challenge", d, name)
	}
	s.mustNotRoute(t, "ada@"+name, "the domain is pending")

	dns.SetTXT(d.TxtRecordName, "v=spf1 -all", d.TxtRecordValue)
	v := mustDomain(t)(s.verifyDomain(t, owner.IDToken, d.ID))
	if v.Status != "VERIFIED" || v.VerifiedAt == nil || v.LastCheckedAt == nil {
		t.Fatalf("verifyDomain = %+v; want VERIFIED with verifiedAt", v)
	}
	r, errs := s.signupRouting(t, "Ada@"+strings.ToUpper(name))
	if len(errs) > 0 || r == nil || r.TenantName != "Members Org" || r.Enrollment != "AUTOMATIC" {
		t.Fatalf("signupRouting = %+v, %+v; want the organization and AUTOMATIC", r, errs)
	}

	st, data, errs := s.gql(t, owner.IDToken, `query($id: ID!) { tenant(id: $id) { domains { id status } auditLog(first: 10) { action } } }`, map[string]any{"id": tenantID})
	var q struct {
		Tenant struct {
			Domains  []gqlDomain `json:"domains"`
			AuditLog []struct {
				Action string `json:"action"`
			} `json:"auditLog"`
		} `json:"tenant"`
	}
	mustData(t, st, data, errs, &q)
	if len(q.Tenant.Domains) != 1 || q.Tenant.Domains[0].Status != "VERIFIED" {
		t.Errorf("Tenant.domains = %+v", q.Tenant.Domains)
	}
	audited := fmt.Sprint(q.Tenant.AuditLog)
	for _, a := range []string{"domain.added", "domain.verified"} {
		if !strings.Contains(audited, a) {
			t.Errorf("audit log %s has no %s", audited, a)
		}
	}

	e := mustDomain(t)(s.domainCall(t, owner.IDToken, "setDomainEnrollment",
		`mutation($id: ID!) { setDomainEnrollment(id: $id, enrollment: REQUEST) { `+domainFields+` } }`, map[string]any{"id": name}))
	if e.Enrollment != "REQUEST" || e.Status != "VERIFIED" {
		t.Errorf("setDomainEnrollment = %+v", e)
	}
	st, data, errs = s.gql(t, owner.IDToken, `mutation($id: ID!) { removeDomain(id: $id) }`, map[string]any{"id": name})
	mustData(t, st, data, errs, &map[string]bool{})
	s.mustNotRoute(t, "ada@"+name, "the domain was removed")
	other, otherTenant := ownerAndTenant(t, s)
	mustDomain(t)(s.addDomain(t, other.IDToken, otherTenant, name, nil)) // free again
}

// A record with another value (an old challenge, a typo) verifies nothing.
func TestDomainWithAWrongTokenStaysPending(t *testing.T) {
	t.Parallel()
	s, dns := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	d := mustDomain(t)(s.addDomain(t, owner.IDToken, tenantID, uniqueDomain(), "AUTOMATIC"))
	dns.SetTXT(d.TxtRecordName, "tenantry-verification=not-the-token", d.TxtRecordValue+"x")
	v := mustDomain(t)(s.verifyDomain(t, owner.IDToken, d.ID))
	if v.Status != "PENDING" || v.VerifiedAt != nil || v.LastCheckedAt == nil {
		t.Fatalf("verifyDomain with a wrong record = %+v; want PENDING, checked", v)
	}
	s.mustNotRoute(t, "ada@"+d.Domain, "a wrong token verifies nothing")
}

func TestDomainRefusals(t *testing.T) {
	t.Parallel()
	s, _ := domainServer(t, nil)
	owner, tenantID := ownerAndTenant(t, s)
	for _, bad := range []string{"gmail.com", "co.uk", "outlook.com", "not a domain"} {
		_, errs := s.addDomain(t, owner.IDToken, tenantID, bad, nil)
		wantCode(t, errs, "BAD_USER_INPUT", "domain")
	}
	// bücher.de and its punycode are one domain: whoever claims one holds both.
	label := testenv.UniqueID("bücher-")
	d := mustDomain(t)(s.addDomain(t, owner.IDToken, tenantID, label+".de", nil))
	if !strings.HasPrefix(d.Domain, "xn--") {
		t.Fatalf("addDomain(%s.de) = %s, want the punycode form", label, d.Domain)
	}
	other, otherTenant := ownerAndTenant(t, s)
	_, errs := s.addDomain(t, other.IDToken, otherTenant, d.Domain, nil)
	wantCode(t, errs, "DOMAIN_TAKEN", "")
	_, errs = s.addDomain(t, owner.IDToken, tenantID, strings.ToUpper(label)+".DE", nil)
	wantCode(t, errs, "DOMAIN_TAKEN", "")

	t.Run("only owners and admins manage domains", func(t *testing.T) {
		member := join(t, s, owner.IDToken, tenantID, "MEMBER")
		_, errs := s.addDomain(t, member.IDToken, tenantID, uniqueDomain(), nil)
		wantCode(t, errs, "FORBIDDEN", "")
		_, errs = s.verifyDomain(t, member.IDToken, d.ID)
		wantCode(t, errs, "FORBIDDEN", "")
		_, errs = s.verifyDomain(t, other.IDToken, d.ID)
		wantCode(t, errs, "NOT_FOUND", "")
		_, errs = s.addDomain(t, "", tenantID, uniqueDomain(), nil)
		wantCode(t, errs, "UNAUTHENTICATED", "")
	})
}

// Ten organizations claim one domain at once: one holds it, the others are told DOMAIN_TAKEN.
func TestDomainClaimRace(t *testing.T) {
	t.Parallel()
	s, _ := domainServer(t, nil)
	const n = 10
	type contender struct {
		token, tenantID string
	}
	cs := make([]contender, n)
	for i := range cs {
		u, id := ownerAndTenant(t, s)
		cs[i] = contender{u.IDToken, id}
	}
	name := uniqueDomain()
	var mu sync.Mutex
	outcome := map[string]int{}
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			_, errs := s.addDomain(t, c.token, c.tenantID, name, nil)
			code := ""
			if len(errs) > 0 {
				code = errs[0].Code()
			}
			mu.Lock()
			outcome[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if outcome[""] != 1 || outcome["DOMAIN_TAKEN"] != n-1 {
		t.Fatalf("outcomes %v; want 1 claim and %d DOMAIN_TAKEN", outcome, n-1)
	}
}

// A DNS server that never answers ends verifyDomain with an error after the timeout; the domain
// stays as it was.
func TestVerifyDomainDoesNotHangOnASilentDNSServer(t *testing.T) {
	t.Parallel()
	silent := testenv.SilentDNSServer(t)
	s := newServer(t, func(c *config.Config) { c.DNSResolver, c.DNSTimeout = silent, 300*time.Millisecond }, app.Options{})
	owner, tenantID := ownerAndTenant(t, s)
	d := mustDomain(t)(s.addDomain(t, owner.IDToken, tenantID, uniqueDomain(), nil))
	_, errs := s.verifyDomain(t, owner.IDToken, d.ID)
	e := wantCode(t, errs, "BAD_USER_INPUT", "")
	if !strings.Contains(e.Message, "DNS") {
		t.Errorf("message %q; want it to say the DNS server did not answer", e.Message)
	}
	st, data, errs := s.gql(t, owner.IDToken, `query($id: ID!) { tenant(id: $id) { domains { status lastCheckedAt } } }`, map[string]any{"id": tenantID})
	var q struct {
		Tenant struct{ Domains []gqlDomain } `json:"tenant"`
	}
	mustData(t, st, data, errs, &q)
	if len(q.Tenant.Domains) != 1 || q.Tenant.Domains[0].Status != "PENDING" || q.Tenant.Domains[0].LastCheckedAt != nil {
		t.Errorf("domains after the timeout: %+v; want it PENDING and unchecked", q.Tenant.Domains)
	}
}

// signupRouting is public and limited per client address.
func TestSignupRoutingIsRateLimited(t *testing.T) {
	t.Parallel()
	s, _ := domainServer(t, func(c *config.Config) { c.SignupRoutingBurst, c.SignupRoutingInterval = 3, time.Hour })
	for range 3 {
		s.mustNotRoute(t, freshEmail("probe"), "nobody claimed the domain")
	}
	_, errs := s.signupRouting(t, freshEmail("probe"))
	wantCode(t, errs, "RATE_LIMITED", "")
}
