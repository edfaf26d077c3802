//go:build soak

package soak

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
)

// tenant is a tenant the soak provisioned, with its owner (nil for a contract tenant).
type tenant struct {
	id    string
	owner *testenv.User
}

// invitation is one the soak's inviteMember made, waiting to be accepted.
type invitation struct{ tenantID, email string }

// intents are the side effects the soak asked for: each address must get exactly one email, each
// tenant exactly one Stripe customer. "maybe" addresses belong to calls that never got a definite
// answer: zero or one email is right for them.
type intents struct {
	mu        sync.Mutex
	emails    map[string]string // address → what it is for
	maybe     map[string]bool
	customers []string // tenant ids
	unsettled int      // provisioning calls without a definite answer (each may be a tenant)
}

// workload is the mix, run by concurrency workers through the balancer.
type workload struct {
	t      *testing.T
	env    testenv.Env
	api    testenv.GraphQL
	base   string
	stripe testenv.StripeEnv
	mail   *testenv.MailpitClient
	box    testenv.Mailbox
	staff  testenv.User
	fs     *firestore.Client // straight to the emulator, for reads the soak needs
	st     *stats
	want   *intents

	mu      sync.Mutex
	tenants []tenant
	invited []invitation
	rng     *rand.Rand
}

// op is one kind of request in the mix, with its weight.
type op struct {
	kind   string
	weight int
	run    func(w *workload)
}

var mix = []op{
	{"provisionTenant", 30, (*workload).signup},
	{"inviteMember", 22, (*workload).invite},
	{"acceptInvitation", 12, (*workload).accept},
	{"provisionContractTenant", 6, (*workload).contract},
	{"stripeWebhook", 15, (*workload).webhooks},
	{"firestoreWrite", 15, (*workload).rulesWrite},
}

func (w *workload) pick() op {
	w.mu.Lock()
	n := w.rng.IntN(100)
	w.mu.Unlock()
	for _, o := range mix {
		if n < o.weight {
			return o
		}
		n -= o.weight
	}
	return mix[0]
}

func (w *workload) chance(p float64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.rng.Float64() < p
}

// someTenant is a random provisioned tenant with an owner, or false before the first.
func (w *workload) someTenant() (tenant, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var owned []tenant
	for _, t := range w.tenants {
		if t.owner != nil {
			owned = append(owned, t)
		}
	}
	if len(owned) == 0 {
		return tenant{}, false
	}
	return owned[w.rng.IntN(len(owned))], true
}

// call sends one operation, records it under kind, and returns the answer's error code ("" for
// data, "TRANSPORT" when no answer came, "HTTP_5xx" for a server error without GraphQL errors).
func (w *workload) call(kind, token, query string, vars map[string]any) (testenv.GraphQLAnswer, string) {
	start := time.Now()
	a, err := w.api.Call(token, query, vars)
	code := ""
	switch {
	case err != nil && a.Status == 0:
		code = "TRANSPORT"
	case len(a.Errors) > 0:
		code = a.Errors[0].Code()
	case a.Status >= 500 || err != nil:
		code = fmt.Sprintf("HTTP_%d", a.Status)
	}
	w.st.observe(kind, time.Since(start), code)
	return a, code
}

// definite reports whether an answer settles the call: data, or an error that is not the
// server's or the network's (a client retries the others with the same input).
func definite(code string) bool {
	return code != "TRANSPORT" && code != "INTERNAL" && !strings.HasPrefix(code, "HTTP_")
}

const provisionMutation = `mutation($in: ProvisionTenantInput!) { provisionTenant(input: $in) { replayed tenant { id } } }`

// provision calls provisionTenant (or the contract mutation) until a definite answer, as the
// SPA's hook does, with the same key: the tenant id, or "" when none came.
func (w *workload) provision(kind, mutation, field, token string, in map[string]any) string {
	for range 8 {
		a, code := w.call(kind, token, mutation, map[string]any{"in": in})
		if !definite(code) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if code != "" {
			return ""
		}
		p, _, err := testenv.DecodeField[struct {
			Tenant struct{ ID string } `json:"tenant"`
		}](a, field)
		if err != nil {
			w.st.broke("%s answered data without a tenant: %v", kind, err)
			return ""
		}
		return p.Tenant.ID
	}
	return ""
}

// signup provisions a tenant for a new owner; one time in ten the client sends it again with the
// same key, and must get the same tenant.
func (w *workload) signup() {
	owner := w.env.NewProjectUser(w.t, testenv.UserOptions{Email: w.box.Address(testenv.UniqueID("o-")), EmailVerified: true})
	in := map[string]any{"idempotencyKey": testenv.UniqueID("key-"), "organizationName": "Soak " + owner.UID[:6]}
	id := w.provision("provisionTenant", provisionMutation, "provisionTenant", owner.IDToken, in)
	if id == "" {
		w.want.unsure(owner.Email)
		return
	}
	if w.chance(0.1) {
		if again := w.provision("provisionTenant (retry)", provisionMutation, "provisionTenant", owner.IDToken, in); again != id {
			w.st.broke("provisionTenant retried with key %s named %q, the first call %s", in["idempotencyKey"], again, id)
		}
	}
	w.want.add(owner.Email, "welcome of "+id, id)
	w.mu.Lock()
	w.tenants = append(w.tenants, tenant{id: id, owner: &owner})
	w.mu.Unlock()
}

const contractMutation = `mutation($in: ProvisionContractTenantInput!) { provisionContractTenant(input: $in) { replayed tenant { id } } }`

// contract provisions a contract tenant as the sales rep; its named admin gets one invitation.
func (w *workload) contract() {
	admin := w.box.Address(testenv.UniqueID("a-"))
	in := map[string]any{
		"idempotencyKey": testenv.UniqueID("key-"), "organizationName": "Contract " + testenv.UniqueID(""),
		"planId": "enterprise", "seatCap": 10, "contractReference": "OPP-SOAK",
		"goLiveDate":   time.Now().UTC().AddDate(0, 0, 30).Truncate(time.Second).Format(time.RFC3339),
		"adminContact": map[string]any{"email": admin, "name": "Soak Admin"},
	}
	id := w.provision("provisionContractTenant", contractMutation, "provisionContractTenant", w.staff.IDToken, in)
	if id == "" {
		w.want.unsure(admin)
		return
	}
	w.want.add(admin, "owner invitation of "+id, id)
	w.mu.Lock()
	w.tenants = append(w.tenants, tenant{id: id})
	w.mu.Unlock()
}

// invite invites a new address to a random tenant; many tenants reach their seat cap.
func (w *workload) invite() {
	tn, ok := w.someTenant()
	if !ok {
		return
	}
	email := w.box.Address(testenv.UniqueID("i-"))
	vars := map[string]any{"in": map[string]any{"tenantId": tn.id, "email": email, "role": "MEMBER"}}
	for range 5 {
		_, code := w.call("inviteMember", tn.owner.IDToken, `mutation($in: InviteMemberInput!) { inviteMember(input: $in) { id } }`, vars)
		if !definite(code) {
			time.Sleep(250 * time.Millisecond)
			continue
		}
		if code == "" {
			w.want.add(email, "invitation to "+tn.id, "")
			w.mu.Lock()
			w.invited = append(w.invited, invitation{tn.id, email})
			w.mu.Unlock()
		}
		return
	}
	w.want.unsure(email)
}

var tokenInLink = regexp.MustCompile(`invitations/accept\?token=([^\s]+)`)

// accept signs the oldest invitee up and accepts the invitation from the link in its email, once
// the email has come (else it waits for a later turn).
func (w *workload) accept() {
	w.mu.Lock()
	if len(w.invited) == 0 {
		w.mu.Unlock()
		return
	}
	inv := w.invited[0]
	w.invited = w.invited[1:]
	w.mu.Unlock()
	msgs := w.mail.To(inv.email)
	if len(msgs) == 0 {
		w.mu.Lock()
		w.invited = append(w.invited, inv)
		w.mu.Unlock()
		return
	}
	m := tokenInLink.FindStringSubmatch(w.mail.Message(msgs[0].ID).Text)
	if m == nil {
		w.st.broke("the invitation email to %s has no accept link", inv.email)
		return
	}
	token, err := url.QueryUnescape(m[1])
	if err != nil {
		w.st.broke("the accept link to %s: %v", inv.email, err)
		return
	}
	user := w.env.NewProjectUser(w.t, testenv.UserOptions{Email: inv.email, EmailVerified: true})
	for range 5 {
		if _, code := w.call("acceptInvitation", user.IDToken, `mutation($t: String!) { acceptInvitation(token: $t) { role } }`, map[string]any{"t": token}); definite(code) {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// rulesWrite writes a document of the tenant's data as its owner, through the Firestore REST API,
// so the emulator's rules (loaded for the soak's project) decide.
func (w *workload) rulesWrite() {
	tn, ok := w.someTenant()
	if !ok {
		return
	}
	start := time.Now()
	status, _, err := w.env.TryFirestoreREST(http.MethodPatch, "tenants/"+tn.id+"/notes/"+testenv.UniqueID("n-"), tn.owner.IDToken,
		map[string]any{"fields": map[string]any{"text": map[string]any{"stringValue": "soak"}}})
	code := ""
	switch {
	case err != nil:
		code = "TRANSPORT"
	case status != http.StatusOK:
		code = fmt.Sprintf("HTTP_%d", status)
	}
	w.st.observe("firestoreWrite", time.Since(start), code)
}

func (i *intents) add(address, what, customerFor string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.emails[address] = what
	if customerFor != "" {
		i.customers = append(i.customers, customerFor)
	}
}

func (i *intents) unsure(address string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.maybe[address] = true
	i.unsettled++
}

// staffUser is a sales rep of the soak's project.
func staffUser(t *testing.T, env testenv.Env) testenv.User {
	t.Helper()
	return env.NewProjectUser(t, testenv.UserOptions{EmailVerified: true, Claims: map[string]any{auth.PlatformRoleClaim: "sales"}})
}
