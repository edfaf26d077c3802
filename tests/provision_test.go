package tests

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
)

// provisionPaths lists every document one provisioning of tenant id by uid with key (and
// subdomain, if any) writes, apart from the user link.
func provisionPaths(id, uid, key, subdomain string) []string {
	paths := []string{
		"tenants/" + id,
		"tenants/" + id + "/private/staff",
		"tenants/" + id + "/members/" + uid,
		"billing/" + id,
		"idempotencyRecords/" + tenancy.IdempotencyRecordID(uid, key),
		"outbox/email.welcome-" + id,
		"outbox/billing.setup-" + id,
	}
	if subdomain != "" {
		paths = append(paths, "subdomains/"+subdomain)
	}
	return paths
}

func TestProvisionHappyPath(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	key, sub := uniqueKey(), uniqueSubdomain()
	name := "Acme Corp " + sub

	before := time.Now()
	p := s.mustProvision(t, u.IDToken, provisionInput(key, name, sub, ""))
	after := time.Now()
	tn := p.Tenant

	if p.Replayed {
		t.Error("first call: replayed = true, want false")
	}
	if tn.Name != name {
		t.Errorf("name = %q, want %q", tn.Name, name)
	}
	if tn.Subdomain == nil || *tn.Subdomain != sub {
		t.Errorf("subdomain = %v, want %q", tn.Subdomain, sub)
	}
	if tn.Status != "TRIAL" {
		t.Errorf("status = %q, want TRIAL", tn.Status)
	}
	if tn.Plan.ID != "trial" || tn.Plan.TrialDays != 14 {
		t.Errorf("plan = %+v, want trial with 14 trial days", tn.Plan)
	}
	if tn.SeatCap != tn.Plan.SeatCap || tn.SeatCap < 1 {
		t.Errorf("seatCap = %d, plan seatCap %d", tn.SeatCap, tn.Plan.SeatCap)
	}
	if tn.Source != "SELF_SERVE" {
		t.Errorf("source = %q, want SELF_SERVE", tn.Source)
	}
	if tn.SeatsUsed != 1 {
		t.Errorf("seatsUsed = %d, want 1", tn.SeatsUsed)
	}
	if tn.PendingInvitations != 0 {
		t.Errorf("pendingInvitations = %d, want 0", tn.PendingInvitations)
	}
	if !tn.Access.CanRead || !tn.Access.CanWrite || tn.Access.Reason != nil {
		t.Errorf("access = %+v (reason %v), want canRead and canWrite, no reason", tn.Access, tn.Access.Reason)
	}
	const slack = 2 * time.Minute // the emulator and this process share a clock; allow for skew
	if tn.CreatedAt.Before(before.Add(-slack)) || tn.CreatedAt.After(after.Add(slack)) {
		t.Errorf("createdAt = %s, want about %s", tn.CreatedAt, before)
	}
	if tn.TrialEndsAt == nil {
		t.Fatal("trialEndsAt is null")
	}
	wantEnd := before.AddDate(0, 0, 14)
	if d := tn.TrialEndsAt.Sub(wantEnd); d < -slack || d > after.Sub(before)+slack {
		t.Errorf("trialEndsAt = %s, want about %s (now + 14 days)", tn.TrialEndsAt, wantEnd)
	}

	// The documents the SPA and the dispatcher rely on.
	id := tn.ID
	td := mustDoc(t, "tenants/"+id)
	for field, want := range map[string]any{
		"name": name, "subdomain": sub, "status": "trial", "planId": "trial",
		"source": "self_serve", "seatsUsed": int64(1), "pendingInvitations": int64(0),
	} {
		if td[field] != want {
			t.Errorf("tenants/%s.%s = %#v, want %#v", id, field, td[field], want)
		}
	}
	if staff := mustDoc(t, "tenants/"+id+"/private/staff"); staff["createdBy"] != u.UID || staff["status"] != "trial" ||
		staff["source"] != "self_serve" || !slices.Contains(tokensOf(staff), "acme corp") {
		t.Errorf("tenants/%s/private/staff = %v, want createdBy %s, the status and source, and search tokens", id, staff, u.UID)
	}
	if got, ok := td["trialEndsAt"].(time.Time); !ok || !got.Equal(*tn.TrialEndsAt) {
		t.Errorf("tenants/%s.trialEndsAt = %v, want %s (as answered)", id, td["trialEndsAt"], tn.TrialEndsAt)
	}

	md := mustDoc(t, "tenants/"+id+"/members/"+u.UID)
	if md["role"] != "owner" {
		t.Errorf("member role = %v, want owner", md["role"])
	}
	if md["email"] != strings.ToLower(u.Email) {
		t.Errorf("member email = %v, want %s", md["email"], u.Email)
	}
	if _, ok := md["joinedAt"].(time.Time); !ok {
		t.Errorf("member joinedAt = %#v, want a timestamp", md["joinedAt"])
	}
	if n := countDocs(t, "tenants/"+id+"/members"); n != 1 {
		t.Errorf("tenants/%s/members has %d documents, want 1", id, n)
	}

	if ids := userTenantIDs(t, u.UID); !slices.Contains(ids, id) {
		t.Errorf("users/%s.tenantIds = %v, want it to contain %s", u.UID, ids, id)
	}

	bd := mustDoc(t, "billing/"+id)
	if bd["status"] != "pending" {
		t.Errorf("billing/%s.status = %v, want pending", id, bd["status"])
	}

	sd := mustDoc(t, "subdomains/"+sub)
	if sd["tenantId"] != id {
		t.Errorf("subdomains/%s.tenantId = %v, want %s", sub, sd["tenantId"], id)
	}

	rec := mustDoc(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(u.UID, key))
	if rec["tenantId"] != id {
		t.Errorf("idempotency record tenantId = %v, want %s", rec["tenantId"], id)
	}

	for _, kind := range []string{"email.welcome", "billing.setup"} {
		od := mustDoc(t, "outbox/"+kind+"-"+id)
		if od["state"] != "pending" {
			t.Errorf("outbox/%s-%s.state = %v, want pending", kind, id, od["state"])
		}
		if od["kind"] != kind || od["tenantId"] != id {
			t.Errorf("outbox/%s-%s: kind %v tenantId %v", kind, id, od["kind"], od["tenantId"])
		}
	}

	// A plain repeat is a replay with the same tenant.
	again := s.mustProvision(t, u.IDToken, provisionInput(key, name, sub, ""))
	if !again.Replayed || again.Tenant.ID != id {
		t.Errorf("repeat: replayed %v tenant %s, want replayed true with %s", again.Replayed, again.Tenant.ID, id)
	}
	if !reflect.DeepEqual(again.Tenant, tn) {
		t.Errorf("replayed tenant differs from the first answer:\n first %+v\nreplay %+v", tn, again.Tenant)
	}
	if ids := tenantsCreatedBy(t, u.UID); len(ids) != 1 {
		t.Errorf("after a repeat: tenants created by the user = %v, want 1", ids)
	}
}

func TestProvisionWithoutSubdomainAndWithPlan(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	p := s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Plain Org", "", "pro"))
	if p.Tenant.Subdomain != nil {
		t.Errorf("subdomain = %q, want null", *p.Tenant.Subdomain)
	}
	if p.Tenant.Plan.ID != "pro" || p.Tenant.SeatCap != p.Tenant.Plan.SeatCap {
		t.Errorf("plan %+v seatCap %d, want pro with its seat cap", p.Tenant.Plan, p.Tenant.SeatCap)
	}
	if d := mustDoc(t, "tenants/"+p.Tenant.ID); d["subdomain"] != nil {
		t.Errorf("tenants/%s.subdomain = %#v, want null", p.Tenant.ID, d["subdomain"])
	}
}

func TestProvisionConcurrentSameKey(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	key, sub := uniqueKey(), uniqueSubdomain()
	input := provisionInput(key, "Concurrent Co", sub, "")

	const n = 50
	t0 := time.Now()
	answers := s.provisionAtOnce(n, func(int) (string, map[string]any) { return u.IDToken, input })
	t.Logf("%d concurrent identical provisionTenant calls answered in %s", n, time.Since(t0))

	ids := map[string]int{}
	replayed := 0
	for i, a := range answers {
		if a.p == nil {
			t.Errorf("call %d: %+v %v", i, a.errs, a.err)
			continue
		}
		ids[a.p.Tenant.ID]++
		if a.p.Replayed {
			replayed++
		}
	}
	if len(ids) != 1 {
		t.Errorf("answers name %d tenant ids, want 1: %v", len(ids), ids)
	}
	if replayed != n-1 {
		t.Errorf("%d answers say replayed, want %d", replayed, n-1)
	}

	created := tenantsCreatedBy(t, u.UID)
	if len(created) != 1 {
		t.Fatalf("tenants created by the user: %v, want exactly 1", created)
	}
	id := created[0]
	if _, ok := ids[id]; !ok {
		t.Errorf("answered ids %v do not include the stored tenant %s", ids, id)
	}
	if n := countDocs(t, "tenants/"+id+"/members"); n != 1 {
		t.Errorf("tenants/%s/members has %d documents, want 1", id, n)
	}
	if md := mustDoc(t, "tenants/"+id+"/members/"+u.UID); md["role"] != "owner" {
		t.Errorf("owner membership role = %v", md["role"])
	}
	if n := countWhere(t, "billing", "tenantId", id); n != 1 {
		t.Errorf("billing records for %s: %d, want 1", id, n)
	}
	if sd := mustDoc(t, "subdomains/"+sub); sd["tenantId"] != id {
		t.Errorf("subdomains/%s.tenantId = %v, want %s", sub, sd["tenantId"], id)
	}
	if n := countWhere(t, "subdomains", "tenantId", id); n != 1 {
		t.Errorf("subdomain claims for %s: %d, want 1", id, n)
	}
	if got := userTenantIDs(t, u.UID); !slices.Equal(got, []string{id}) {
		t.Errorf("users/%s.tenantIds = %v, want [%s]", u.UID, got, id)
	}
	if n := countWhere(t, "outbox", "tenantId", id); n != 2 {
		t.Errorf("outbox entries for %s: %d, want 2", id, n)
	}
}

func TestProvisionKeyReusedWithOtherParameters(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	key, sub := uniqueKey(), uniqueSubdomain()
	first := s.mustProvision(t, u.IDToken, provisionInput(key, "First Name", sub, ""))

	cases := []struct {
		name  string
		input map[string]any
	}{
		{"other name", provisionInput(key, "Second Name", sub, "")},
		{"other subdomain", provisionInput(key, "First Name", uniqueSubdomain(), "")},
		{"no subdomain", provisionInput(key, "First Name", "", "")},
		{"other plan", provisionInput(key, "First Name", sub, "starter")},
	}
	for _, c := range cases {
		before := tenantsCreatedBy(t, u.UID)
		_, errs := s.provision(t, u.IDToken, c.input)
		wantCode(t, errs, "IDEMPOTENCY_KEY_REUSED", "")
		after := tenantsCreatedBy(t, u.UID)
		if len(after) != len(before) || len(after) != 1 {
			t.Errorf("%s: tenants created by the user before %v after %v, want the first one only", c.name, before, after)
		}
	}
	if d := mustDoc(t, "tenants/"+first.Tenant.ID); d["name"] != "First Name" {
		t.Errorf("first tenant's name changed to %v", d["name"])
	}
	if got := userTenantIDs(t, u.UID); !slices.Equal(got, []string{first.Tenant.ID}) {
		t.Errorf("users/%s.tenantIds = %v, want [%s]", u.UID, got, first.Tenant.ID)
	}
	// The same parameters, with the subdomain typed in upper case (normalized alike), still replay.
	again := s.mustProvision(t, u.IDToken, provisionInput(key, "  First Name ", strings.ToUpper(sub), ""))
	if !again.Replayed || again.Tenant.ID != first.Tenant.ID {
		t.Errorf("replay with normalized-equal input: replayed %v id %s, want true %s", again.Replayed, again.Tenant.ID, first.Tenant.ID)
	}
}

func TestProvisionSubdomainTaken(t *testing.T) {
	t.Parallel()
	s := shared(t)
	owner, other := newUser(t), newUser(t)
	sub := uniqueSubdomain()
	first := s.mustProvision(t, owner.IDToken, provisionInput(uniqueKey(), "Holder", sub, ""))

	// Another user, another key, the same subdomain.
	key2 := uniqueKey()
	_, errs := s.provision(t, other.IDToken, provisionInput(key2, "Squatter", sub, ""))
	wantCode(t, errs, "SUBDOMAIN_TAKEN", "")
	nothingWrittenFor(t, other.UID)
	assertAbsent(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(other.UID, key2))
	if sd := mustDoc(t, "subdomains/"+sub); sd["tenantId"] != first.Tenant.ID {
		t.Errorf("subdomains/%s.tenantId = %v, want the first tenant %s", sub, sd["tenantId"], first.Tenant.ID)
	}

	// The same owner under another key: taken too (by their own tenant), nothing new.
	_, errs = s.provision(t, owner.IDToken, provisionInput(uniqueKey(), "Holder Again", sub, ""))
	wantCode(t, errs, "SUBDOMAIN_TAKEN", "")
	if ids := tenantsCreatedBy(t, owner.UID); len(ids) != 1 {
		t.Errorf("tenants created by the owner: %v, want 1", ids)
	}

	// The refused key left nothing behind: it works with a free subdomain.
	sub2 := uniqueSubdomain()
	p := s.mustProvision(t, other.IDToken, provisionInput(key2, "Squatter", sub2, ""))
	if p.Replayed || p.Tenant.Subdomain == nil || *p.Tenant.Subdomain != sub2 {
		t.Errorf("retry with a free subdomain: replayed %v subdomain %v, want a new tenant on %s", p.Replayed, p.Tenant.Subdomain, sub2)
	}
}

func TestProvisionInvalidInput(t *testing.T) {
	t.Parallel()
	s := shared(t)
	longName := strings.Repeat("n", 101)
	cases := []struct {
		name  string
		input func(key string) map[string]any
		field string
	}{
		{"empty name", func(k string) map[string]any { return provisionInput(k, "", "", "") }, "organizationName"},
		{"whitespace name", func(k string) map[string]any { return provisionInput(k, " \t\n ", "", "") }, "organizationName"},
		{"101-char name", func(k string) map[string]any { return provisionInput(k, longName, "", "") }, "organizationName"},
		{"control char in name", func(k string) map[string]any { return provisionInput(k, "Acme\u0007Corp", "", "") }, "organizationName"},
		{"bidi override in name", func(k string) map[string]any { return provisionInput(k, "Acme\u202eproC", "", "") }, "organizationName"},
		{"subdomain too short", func(k string) map[string]any { return provisionInput(k, "Acme", "ab", "") }, "subdomain"},
		{"subdomain with underscore", func(k string) map[string]any { return provisionInput(k, "Acme", "A_B", "") }, "subdomain"},
		{"subdomain a_b", func(k string) map[string]any { return provisionInput(k, "Acme", "a_b", "") }, "subdomain"},
		{"subdomain leading dash", func(k string) map[string]any { return provisionInput(k, "Acme", "-abc", "") }, "subdomain"},
		{"subdomain www", func(k string) map[string]any { return provisionInput(k, "Acme", "www", "") }, "subdomain"},
		{"subdomain admin", func(k string) map[string]any { return provisionInput(k, "Acme", "admin", "") }, "subdomain"},
		{"subdomain api", func(k string) map[string]any { return provisionInput(k, "Acme", "api", "") }, "subdomain"},
		{"subdomain 64 chars", func(k string) map[string]any { return provisionInput(k, "Acme", strings.Repeat("a", 64), "") }, "subdomain"},
		{"subdomain punycode", func(k string) map[string]any { return provisionInput(k, "Acme", "xn--abc", "") }, "subdomain"},
		{"key 7 chars", func(string) map[string]any { return provisionInput("1234567", "Acme", "", "") }, "idempotencyKey"},
		{"key 256 chars", func(string) map[string]any { return provisionInput(strings.Repeat("k", 256), "Acme", "", "") }, "idempotencyKey"},
		{"key with a space", func(string) map[string]any { return provisionInput("key with space", "Acme", "", "") }, "idempotencyKey"},
		{"unknown plan", func(k string) map[string]any { return provisionInput(k, "Acme", "", "nope") }, "planId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := newUser(t)
			key := uniqueKey()
			in := c.input(key)
			_, errs := s.provision(t, u.IDToken, in)
			wantCode(t, errs, "BAD_USER_INPUT", c.field)
			nothingWrittenFor(t, u.UID)
			k, _ := in["idempotencyKey"].(string)
			assertAbsent(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(u.UID, k))
			if sub, ok := in["subdomain"].(string); ok {
				// Probe with the lowercased form too, the server's canonical spelling.
				for _, p := range []string{sub, strings.ToLower(sub)} {
					if p != "" && !strings.Contains(p, "/") {
						if d := doc(t, "subdomains/"+p); d != nil && d["tenantId"] != nil {
							// Reserved names must never be claimed; others are fresh per run anyway.
							t.Errorf("subdomains/%s exists (tenantId %v) after a refused call", p, d["tenantId"])
						}
					}
				}
			}
		})
	}
}

func TestProvisionFailureMidCommitWritesNothing(t *testing.T) {
	t.Parallel()
	id := testenv.UniqueID("fixed")
	s := newServer(t, nil, app.Options{NewID: func() string { return id }})
	u := newUser(t)
	key, sub := uniqueKey(), uniqueSubdomain()

	// A document in the way of one of the commit's create-only writes.
	if _, err := fs(t).Doc("billing/"+id).Create(fsCtx(t), map[string]any{"tenantId": id, "status": "planted-by-test"}); err != nil {
		t.Fatalf("plant billing/%s: %v", id, err)
	}

	_, errs := s.provision(t, u.IDToken, provisionInput(key, "Doomed Org", sub, ""))
	e := wantCode(t, errs, "INTERNAL", "")
	for _, leak := range []string{"billing", "AlreadyExists", "rpc", id, "firestore", "Firestore"} {
		if strings.Contains(e.Message, leak) {
			t.Errorf("INTERNAL message leaks %q: %q", leak, e.Message)
		}
	}
	for k, v := range e.Extensions {
		if k != "code" && k != "requestId" {
			t.Errorf("INTERNAL error carries extensions.%s = %v", k, v)
		}
	}

	paths := provisionPaths(id, u.UID, key, sub)
	assertAbsent(t, slices.DeleteFunc(paths, func(p string) bool { return p == "billing/"+id })...)
	if d := mustDoc(t, "billing/"+id); d["status"] != "planted-by-test" {
		t.Errorf("billing/%s was overwritten: %v", id, d)
	}
	if n := countDocs(t, "tenants/"+id+"/members"); n != 0 {
		t.Errorf("tenants/%s/members has %d documents, want 0", id, n)
	}
	if ids := userTenantIDs(t, u.UID); slices.Contains(ids, id) {
		t.Errorf("users/%s.tenantIds = %v lists the failed tenant", u.UID, ids)
	}
	nothingWrittenFor(t, u.UID)
}

func TestProvisionRateLimit(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) {
		c.ProvisionBurst = 2
		c.ProvisionInterval = time.Hour
	}, app.Options{})
	u := newUser(t)

	k1, k2, k3 := uniqueKey(), uniqueKey(), uniqueKey()
	first := s.mustProvision(t, u.IDToken, provisionInput(k1, "Rate One", "", ""))
	s.mustProvision(t, u.IDToken, provisionInput(k2, "Rate Two", "", ""))
	_, errs := s.provision(t, u.IDToken, provisionInput(k3, "Rate Three", "", ""))
	wantCode(t, errs, "RATE_LIMITED", "")
	assertAbsent(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(u.UID, k3))
	if ids := tenantsCreatedBy(t, u.UID); len(ids) != 2 {
		t.Errorf("tenants created by the user: %v, want 2", ids)
	}

	// A replay of an admitted key is not limited.
	again := s.mustProvision(t, u.IDToken, provisionInput(k1, "Rate One", "", ""))
	if !again.Replayed || again.Tenant.ID != first.Tenant.ID {
		t.Errorf("replay after the limit: replayed %v id %s, want true %s", again.Replayed, again.Tenant.ID, first.Tenant.ID)
	}

	// The limit is per user: someone else still gets in.
	other := newUser(t)
	s.mustProvision(t, other.IDToken, provisionInput(uniqueKey(), "Other Org", "", ""))
}

func TestProvisionValidEdgeInputs(t *testing.T) {
	t.Parallel()
	s := shared(t)
	sub63 := uniqueSubdomain()
	sub63 += strings.Repeat("x", 63-len(sub63))
	printableKey := "k!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + testenv.UniqueID("")
	cases := []struct {
		name                 string
		input                map[string]any
		wantName, wantSubdom string
	}{
		{"100 multi-byte runes", provisionInput(uniqueKey(), strings.Repeat("ü", 100), "", ""), strings.Repeat("ü", 100), ""},
		{"name trimmed", provisionInput(uniqueKey(), "  Padded Org \t", "", ""), "Padded Org", ""},
		{"emoji and punctuation", provisionInput(uniqueKey(), "Café Ünïcødé 🚀 & Co., Ltd.", "", ""), "Café Ünïcødé 🚀 & Co., Ltd.", ""},
		{"63-char subdomain", provisionInput(uniqueKey(), "Long Sub", sub63, ""), "Long Sub", sub63},
		{"upper-case subdomain folded", provisionInput(uniqueKey(), "Upper Sub", "T-UP"+strings.ToUpper(testenv.UniqueID("")), ""), "Upper Sub", ""},
		{"8-char key", provisionInput(testenv.UniqueID("")[:8], "Short Key", "", ""), "Short Key", ""},
		{"255-char key", provisionInput(strings.Repeat("k", 243)+testenv.UniqueID(""), "Long Key", "", ""), "Long Key", ""},
		{"printable ASCII key", provisionInput(printableKey, "Odd Key", "", ""), "Odd Key", ""},
		{"largest self-serve plan", provisionInput(uniqueKey(), "Big Co", "", "pro"), "Big Co", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := newUser(t)
			p := s.mustProvision(t, u.IDToken, c.input)
			if p.Tenant.Name != c.wantName {
				t.Errorf("name = %q, want %q", p.Tenant.Name, c.wantName)
			}
			if raw, ok := c.input["subdomain"].(string); ok {
				want := strings.ToLower(raw)
				if p.Tenant.Subdomain == nil || *p.Tenant.Subdomain != want {
					t.Errorf("subdomain = %v, want %q", p.Tenant.Subdomain, want)
				}
				if sd := mustDoc(t, "subdomains/"+want); sd["tenantId"] != p.Tenant.ID {
					t.Errorf("subdomains/%s.tenantId = %v, want %s", want, sd["tenantId"], p.Tenant.ID)
				}
			}
			if d := mustDoc(t, "tenants/"+p.Tenant.ID); d["name"] != c.wantName {
				t.Errorf("stored name = %q, want %q", d["name"], c.wantName)
			}
			key := c.input["idempotencyKey"].(string)
			if !docExists(t, "idempotencyRecords/"+tenancy.IdempotencyRecordID(u.UID, key)) {
				t.Errorf("no idempotency record for key %q", key)
			}
			if c.name == "largest self-serve plan" && (p.Tenant.Plan.ID != "pro" || p.Tenant.SeatCap != 50) {
				t.Errorf("plan = %+v (seat cap %d), want pro with its 50 seats", p.Tenant.Plan, p.Tenant.SeatCap)
			}
		})
	}
}

func TestProvisionSameKeyDifferentUsers(t *testing.T) {
	t.Parallel()
	s := shared(t)
	a, b := newUser(t), newUser(t)
	key := uniqueKey()
	pa := s.mustProvision(t, a.IDToken, provisionInput(key, "Same Key", "", ""))
	pb := s.mustProvision(t, b.IDToken, provisionInput(key, "Same Key", "", ""))
	if pb.Replayed || pa.Tenant.ID == pb.Tenant.ID {
		t.Errorf("another user's identical key: replayed %v, ids %s %s; want two independent tenants", pb.Replayed, pa.Tenant.ID, pb.Tenant.ID)
	}
	if len(tenantsCreatedBy(t, a.UID)) != 1 || len(tenantsCreatedBy(t, b.UID)) != 1 {
		t.Errorf("want one tenant each")
	}
}

func TestProvisionConcurrentSubdomainRace(t *testing.T) {
	t.Parallel()
	s := shared(t)
	sub := uniqueSubdomain()
	const n = 12
	users := make([]testenv.User, n)
	for i := range users {
		users[i] = newUser(t)
	}
	answers := s.provisionAtOnce(n, func(i int) (string, map[string]any) {
		return users[i].IDToken, provisionInput(uniqueKey(), "Racer", sub, "")
	})

	winners, taken := 0, 0
	var winner string
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("call %d: %v", i, a.err)
		case a.p != nil:
			winners++
			winner = users[i].UID
		case len(a.errs) == 1 && a.errs[0].Code() == "SUBDOMAIN_TAKEN":
			taken++
		default:
			t.Errorf("call %d: %+v, want success or SUBDOMAIN_TAKEN", i, a.errs)
		}
	}
	if winners != 1 || taken != n-1 {
		t.Fatalf("%d winners and %d SUBDOMAIN_TAKEN, want 1 and %d", winners, taken, n-1)
	}
	for _, u := range users {
		if got := len(tenantsCreatedBy(t, u.UID)); (u.UID == winner) != (got == 1) || got > 1 {
			t.Errorf("user %s (winner %v) created %d tenants", u.UID, u.UID == winner, got)
		}
	}
}

func TestProvisionConcurrentConflictingParameters(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	key := uniqueKey()
	const n = 20
	names := []string{"Variant A", "Variant B"}
	answers := s.provisionAtOnce(n, func(i int) (string, map[string]any) {
		return u.IDToken, provisionInput(key, names[i%2], "", "")
	})

	created := tenantsCreatedBy(t, u.UID)
	if len(created) != 1 {
		t.Fatalf("tenants created: %v, want exactly 1", created)
	}
	stored := mustDoc(t, "tenants/"+created[0])["name"]
	fresh := 0
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("call %d: %v", i, a.err)
		case names[i%2] == stored:
			if a.p == nil || a.p.Tenant.ID != created[0] {
				t.Errorf("call %d with the winning parameters: %+v, want tenant %s", i, a.errs, created[0])
			} else if !a.p.Replayed {
				fresh++
			}
		default:
			if len(a.errs) != 1 || a.errs[0].Code() != "IDEMPOTENCY_KEY_REUSED" {
				t.Errorf("call %d with the losing parameters: payload %v errors %+v, want IDEMPOTENCY_KEY_REUSED", i, a.p, a.errs)
			}
		}
	}
	if fresh != 1 {
		t.Errorf("%d answers say replayed false, want 1", fresh)
	}
}

func TestProvisionRateLimitConcurrent(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(c *config.Config) {
		c.ProvisionBurst = 2
		c.ProvisionInterval = time.Hour
	}, app.Options{})
	u := newUser(t)
	const n = 10
	answers := s.provisionAtOnce(n, func(int) (string, map[string]any) {
		return u.IDToken, provisionInput(uniqueKey(), "Burst", "", "")
	})
	ok, limited := 0, 0
	for _, a := range answers {
		var r string
		switch {
		case a.err != nil:
			r = "error: " + a.err.Error()
		case a.p != nil:
			r = "ok"
		case len(a.errs) > 0:
			r = a.errs[0].Code()
		}
		switch r {
		case "ok":
			ok++
		case "RATE_LIMITED":
			limited++
		default:
			t.Errorf("unexpected answer %q", r)
		}
	}
	if ok != 2 || limited != n-2 {
		t.Errorf("%d succeeded, %d RATE_LIMITED; want 2 and %d", ok, limited, n-2)
	}
	if got := tenantsCreatedBy(t, u.UID); len(got) != 2 {
		t.Errorf("tenants created: %v, want 2", got)
	}
}

func TestProvisionWithManualClock(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, time.March, 30, 23, 30, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	s := newServer(t, func(c *config.Config) {
		c.ProvisionBurst = 2
		c.ProvisionInterval = time.Hour
	}, app.Options{Clock: clk})
	u := newUser(t)
	ok := func(name string) provisionPayload {
		t.Helper()
		return s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), name, "", ""))
	}
	limited := func(name string) {
		t.Helper()
		_, errs := s.provision(t, u.IDToken, provisionInput(uniqueKey(), name, "", ""))
		wantCode(t, errs, "RATE_LIMITED", "")
	}

	k1 := uniqueKey()
	p := s.mustProvision(t, u.IDToken, provisionInput(k1, "Clocked", "", "")) // bucket 2 -> 1
	if !p.Tenant.CreatedAt.Equal(t0) {
		t.Errorf("createdAt = %s, want the injected %s", p.Tenant.CreatedAt, t0)
	}
	if want := t0.AddDate(0, 0, 14); p.Tenant.TrialEndsAt == nil || !p.Tenant.TrialEndsAt.Equal(want) {
		t.Errorf("trialEndsAt = %v, want %s", p.Tenant.TrialEndsAt, want)
	}

	// A replay later still answers the first result, trial end included.
	clk.Advance(3 * time.Hour) // bucket refills to 2
	again := s.mustProvision(t, u.IDToken, provisionInput(k1, "Clocked", "", ""))
	if !again.Replayed || again.Tenant.ID != p.Tenant.ID || !again.Tenant.TrialEndsAt.Equal(*p.Tenant.TrialEndsAt) {
		t.Errorf("replay 3h later: replayed %v id %s trialEndsAt %v, want the first answer", again.Replayed, again.Tenant.ID, again.Tenant.TrialEndsAt)
	}

	// The limiter runs on the injected clock: a burst of 2, then one per hour.
	ok("Clocked 2")
	ok("Clocked 3")
	limited("Clocked 4")
	clk.Advance(time.Hour)
	ok("Clocked 5")
	limited("Clocked 6")
}

// TestProvisionReplayNotLimitedWithinRetention: a replay is answered from the idempotency record
// for as long as the record is kept (IdempotencyRetention, 48h by default), whatever the caller's
// rate-limit bucket holds: replays create nothing.
func TestProvisionReplayNotLimitedWithinRetention(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2031, time.June, 1, 8, 0, 0, 0, time.UTC)
	clk := clock.NewManual(t0)
	s := newServer(t, func(c *config.Config) {
		c.ProvisionBurst = 2
		c.ProvisionInterval = time.Hour
		c.IdempotencyRetention = 48 * time.Hour
	}, app.Options{Clock: clk})
	u := newUser(t)

	k1 := uniqueKey()
	first := s.mustProvision(t, u.IDToken, provisionInput(k1, "Long Ago", "", ""))
	clk.Advance(30 * time.Hour) // within the 48h retention; the bucket is full again
	s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Today 1", "", ""))
	s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Today 2", "", "")) // bucket empty

	again, errs := s.provision(t, u.IDToken, provisionInput(k1, "Long Ago", "", ""))
	if again == nil {
		t.Fatalf("replay of a key provisioned 30h ago (record kept 48h) with an empty bucket: %+v; "+
			"want replayed true: the limiter forgets admitted keys after 24h (ratelimit.replayWindow) "+
			"while idempotency records answer for 48h", errs)
	}
	if !again.Replayed || again.Tenant.ID != first.Tenant.ID {
		t.Errorf("replay: replayed %v id %s, want true %s", again.Replayed, again.Tenant.ID, first.Tenant.ID)
	}
}

// TestProvisionReplayNotLimitedOnAnotherReplica: the same, for a replay that reaches another
// server process (a second replica, or the same one after a restart), whose in-memory limiter
// never admitted the key.
func TestProvisionReplayNotLimitedOnAnotherReplica(t *testing.T) {
	t.Parallel()
	limits := func(c *config.Config) {
		c.ProvisionBurst = 2
		c.ProvisionInterval = time.Hour
	}
	replicaA := newServer(t, limits, app.Options{})
	replicaB := newServer(t, limits, app.Options{})
	u := newUser(t)

	k1 := uniqueKey()
	first := replicaA.mustProvision(t, u.IDToken, provisionInput(k1, "Replica Org", "", ""))
	replicaB.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "On B 1", "", ""))
	replicaB.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "On B 2", "", "")) // B's bucket empty

	again, errs := replicaB.provision(t, u.IDToken, provisionInput(k1, "Replica Org", "", ""))
	if again == nil {
		t.Fatalf("replay on another replica with an empty bucket: %+v; want replayed true "+
			"(the limiter is consulted before the idempotency record, so replays it does not remember are throttled)", errs)
	}
	if !again.Replayed || again.Tenant.ID != first.Tenant.ID {
		t.Errorf("replay: replayed %v id %s, want true %s", again.Replayed, again.Tenant.ID, first.Tenant.ID)
	}
}
