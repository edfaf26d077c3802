package tests

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/firestore"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/domains"
	"github.com/tenantry/tenantry/internal/events"
	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/tenancy"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// eventsSecret signs the events of these tests (the specification's test secret).
const eventsSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receivedEvent is one request the receiver accepted, its body decoded.
type receivedEvent struct {
	ID        string
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// receiver is the application's endpoint: it verifies every request with events.Verify against
// the test's clock, and answers as mode says: "ok" (204), "500", or "down" (the connection is
// dropped without an answer).
type receiver struct {
	t      *testing.T
	secret events.Secret
	clk    clock.Clock
	srv    *httptest.Server

	mu       sync.Mutex
	mode     string
	refused  []string                 // webhook-ids answered with a failure
	accepted map[string]receivedEvent // by webhook-id: a repeat is dropped
	bad      []string                 // requests whose signature did not verify
}

func newReceiver(t *testing.T, clk clock.Clock) *receiver {
	secret, err := events.ParseSecret(eventsSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, secret: secret, clk: clk, mode: "ok", accepted: map[string]receivedEvent{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setMode(m string) { r.mu.Lock(); r.mode = m; r.mu.Unlock() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	id := req.Header.Get(events.HeaderID)
	if err := events.Verify(r.secret, req.Header, body, r.clk.Now(), 0); err != nil {
		r.bad = append(r.bad, id+": "+err.Error())
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	r.checkTamperingFails(req.Header, body)
	switch r.mode {
	case "500":
		r.refused = append(r.refused, id)
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
		return
	case "down":
		r.refused = append(r.refused, id)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	var ev receivedEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		r.bad = append(r.bad, id+": body is not an event: "+err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ev.ID = id
	if _, dup := r.accepted[id]; !dup {
		r.accepted[id] = ev
	}
	w.WriteHeader(http.StatusNoContent)
}

// checkTamperingFails makes sure the verifier would refuse this very request with one byte of
// the body changed, or checked with another secret.
func (r *receiver) checkTamperingFails(h http.Header, body []byte) {
	tampered := slices.Clone(body)
	tampered[len(tampered)/2] ^= 1
	if err := events.Verify(r.secret, h, tampered, r.clk.Now(), 0); err == nil {
		r.bad = append(r.bad, "a tampered body verified")
	}
	other, _ := events.ParseSecret("whsec_" + strings.Repeat("QUJD", 8))
	if err := events.Verify(other, h, body, r.clk.Now(), 0); err == nil {
		r.bad = append(r.bad, "another secret verified")
	}
}

// events returns what was accepted, of type typ ("" for all), with data decoded into maps.
func (r *receiver) events(typ string) []receivedEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []receivedEvent
	for _, ev := range r.accepted {
		if typ == "" || ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

func dataOf(t testing.TB, ev receivedEvent) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatalf("event %s: data %s: %v", ev.ID, ev.Data, err)
	}
	return m
}

// eventsApp is an app in a Firestore project of its own (its dispatcher takes every due entry of
// the project), sending events to rcv, on a manual clock.
type eventsApp struct {
	a   *app.App
	clk *clock.Manual
	rcv *receiver
	dns *testenv.DNSServer
}

func newEventsApp(t *testing.T) eventsApp {
	iso := emulators(t).IsolatedProject(t)
	clk := clock.NewManual(time.Now())
	rcv := newReceiver(t, clk)
	dns := testenv.NewDNSServer(t)
	s := newServer(t, func(c *config.Config) {
		c.Project, c.SMTPURL, c.StripeSecretKey, c.DNSResolver = iso.Project, "", "", dns.Addr
		c.EventsURL, c.EventsSecret = rcv.srv.URL+"/tenantry/events", eventsSecret
	}, app.Options{Clock: clk})
	return eventsApp{a: s.App, clk: clk, rcv: rcv, dns: dns}
}

// pass runs one outbox pass.
func (e eventsApp) pass(t *testing.T) {
	t.Helper()
	if _, err := e.a.Outbox.RunPass(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// pendingEvents counts the app.event entries not yet delivered.
func (e eventsApp) pendingEvents(t *testing.T) int {
	t.Helper()
	snaps, err := e.a.Firestore().Collection("outbox").Where("kind", "==", kinds.AppEvent{}.Kind()).Where("state", "==", "pending").Documents(context.Background()).GetAll()
	if err != nil {
		t.Fatal(err)
	}
	return len(snaps)
}

func principal(prefix string, role auth.PlatformRole) auth.Principal {
	return auth.Principal{UID: testenv.UniqueID(prefix + "-"), Email: testenv.UniqueID(prefix+"-") + "@example.test", EmailVerified: true, PlatformRole: role}
}

// TestEventsToTheApplication takes one tenant through every kind of change, and purges another,
// with the receiver failing, then recovering: it gets every event, each once per webhook-id, every
// request signed, and can rebuild the order of the tenant's status changes from the events alone.
func TestEventsToTheApplication(t *testing.T) {
	t.Parallel()
	e := newEventsApp(t)
	e.rcv.setMode("500")
	purged := e.purgedTenant(t)
	tenantID := e.everyChange(t)

	// The receiver answers 500 for two passes, then drops connections for one: nothing is lost,
	// nothing is dead-lettered, and every attempt carries the entry's own webhook-id.
	for _, mode := range []string{"500", "500", "down"} {
		e.rcv.setMode(mode)
		e.pass(t)
		e.clk.Advance(11 * time.Minute) // past the longest backoff (TENANTRY_OUTBOX_BACKOFF_CAP 10m)
	}
	if got := e.rcv.events(""); len(got) != 0 {
		t.Fatalf("%d events accepted while the receiver was failing", len(got))
	}
	pending := e.pendingEvents(t)
	if pending == 0 || len(e.rcv.refused) < 3*pending {
		t.Fatalf("%d pending events, %d refused attempts; want every event tried on every pass", pending, len(e.rcv.refused))
	}
	e.rcv.setMode("ok")
	e.pass(t)
	if n := e.pendingEvents(t); n != 0 {
		t.Fatalf("%d events still pending after the receiver recovered", n)
	}
	if len(e.rcv.bad) > 0 {
		t.Fatalf("requests that failed verification or the tampering checks: %v", e.rcv.bad)
	}
	got := e.rcv.events("")
	if len(got) != pending {
		t.Errorf("the receiver got %d distinct events, %d were pending", len(got), pending)
	}
	for _, id := range e.rcv.refused {
		if _, ok := e.rcv.accepted[id]; !ok {
			t.Errorf("event %s was refused, and never delivered under the same webhook-id", id)
		}
	}
	t.Run("every event type is seen", func(t *testing.T) {
		for _, ev := range tenancy.EventTypes {
			if len(e.rcv.events(ev.EventType())) == 0 {
				t.Errorf("no %s event", ev.EventType())
			}
		}
		seenVia := map[string]bool{}
		for _, ev := range e.rcv.events("member.joined") {
			seenVia[dataOf(t, ev)["via"].(string)] = true
		}
		for _, via := range []string{tenancy.JoinedByProvisioning, tenancy.JoinedByInvitation, tenancy.JoinedByDomain, tenancy.JoinedByJoinRequest} {
			if !seenVia[via] {
				t.Errorf("no member.joined by %s (saw %v)", via, seenVia)
			}
		}
		if got := e.rcv.events("tenant.purged"); len(got) != 1 || dataOf(t, got[0])["tenantId"] != purged {
			t.Errorf("tenant.purged events %v; want one, about %s", got, purged)
		}
		if n := len(e.rcv.events("domain.verified")); n != 2 {
			t.Errorf("%d domain.verified events; want 2 (verifyDomain and the verify-domains job)", n)
		}
		if n := len(e.rcv.events("member.role_changed")); n != 3 {
			t.Errorf("%d member.role_changed events; want 3 (changeMemberRole, and both sides of transferOwnership)", n)
		}
	})
	t.Run("the order of status changes is rebuilt from the events", func(t *testing.T) {
		e.checkStatusOrder(t, tenantID)
	})
}

// everyChange makes every change that emits an event, on one tenant, and returns it.
func (e eventsApp) everyChange(t *testing.T) string {
	t.Helper()
	ctx, a := context.Background(), e.a
	ownerP := principal("owner", "")
	owner := auth.WithPrincipal(ctx, ownerP)
	p, err := a.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Events Org"})
	must(t, err)
	tid := p.Tenant.ID

	bobP := principal("bob", "")
	inv, err := a.Members.Invite(owner, tid, members.InviteRequest{Email: bobP.Email, Role: rules.RoleMember})
	must(t, err)
	_, err = a.Members.Accept(auth.WithPrincipal(ctx, bobP), e.invitationToken(t, inv.Invitation.ID))
	must(t, err)
	_, err = a.Members.ChangeRole(owner, tid, bobP.UID, rules.RoleAdmin)
	must(t, err)

	auto := e.verifiedDomain(t, owner, tid, domains.EnrollAutomatic, false)
	must(t, a.Domains.EnrollAtSignup(ctx, testenv.UniqueID("carol-"), "carol@"+auto, true))
	byRequest := e.verifiedDomain(t, owner, tid, domains.EnrollRequest, true)
	daveUID := testenv.UniqueID("dave-")
	must(t, a.Domains.EnrollAtSignup(ctx, daveUID, "dave@"+byRequest, true))
	_, err = a.Domains.ApproveJoinRequest(owner, tid+"_"+daveUID)
	must(t, err)
	must(t, a.Members.Remove(owner, tid, daveUID))
	testenv.Storage(t) // export.ready: an export, run at once rather than by a pass
	x, err := a.Export.Request(owner, tid)
	must(t, err)
	_, err = a.Export.Run(ctx, tid, x.ID, nil)
	must(t, err)
	_, err = a.Members.TransferOwnership(owner, tid, bobP.UID)
	must(t, err)

	e.statusChanges(t, tid)
	return tid
}

// purgedTenant provisions a tenant, cancels it and lets the purge job delete it once its
// retention is over, before any event is delivered: the purge deletes the tenant's pending events
// with the rest of its records, and leaves only tenant.purged. It returns the tenant's id.
func (e eventsApp) purgedTenant(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	p, err := e.a.Tenancy.ProvisionSelfServe(auth.WithPrincipal(ctx, principal("leaver", "")),
		tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Leaving Org"})
	must(t, err)
	staff := auth.WithPrincipal(ctx, principal("staff", auth.PlatformSuperAdmin))
	_, err = e.a.Tenancy.SetStatus(staff, p.Tenant.ID, rules.StatusCancelled, "events test: leaving")
	must(t, err)
	e.clk.Advance(tenancy.DefaultCancelledRetention + time.Hour)
	r, err := e.a.Tenancy.PurgeCancelled(ctx, tenancy.PurgeOptions{}, nil)
	if err != nil || r.Purged != 1 {
		t.Fatalf("purge: %s, %v; want the cancelled tenant purged", r, err)
	}
	return p.Tenant.ID
}

// statusChanges moves the tenant through staff actions, the trial clock and cancellation.
func (e eventsApp) statusChanges(t *testing.T, tid string) {
	t.Helper()
	staff := auth.WithPrincipal(context.Background(), principal("staff", auth.PlatformSuperAdmin))
	ten := e.a.Tenancy
	e.clk.Advance(time.Minute)
	_, err := ten.SetStatus(staff, tid, rules.StatusSuspended, "events test: suspend")
	must(t, err)
	e.clk.Advance(time.Minute)
	_, err = ten.LiftSuspension(staff, tid, "events test: lift")
	must(t, err)
	e.clk.Advance(15 * 24 * time.Hour)
	r, err := ten.ExpireTrials(context.Background(), tenancy.ExpireTrialsOptions{}, nil)
	if err != nil || r.Expired != 1 {
		t.Fatalf("expire-trials: %s, %v; want the tenant expired", r, err)
	}
	e.clk.Advance(time.Minute)
	_, err = ten.SetStatus(staff, tid, rules.StatusActive, "events test: activate")
	must(t, err)
	// A refused change commits nothing, and so emits nothing.
	if _, err := ten.SetStatus(staff, tid, rules.StatusTrial, "events test: not allowed"); err == nil {
		t.Fatal("active → trial was allowed")
	}
	e.clk.Advance(time.Minute)
	_, err = ten.SetStatus(staff, tid, rules.StatusCancelled, "events test: cancel")
	must(t, err)
}

// checkStatusOrder shuffles the status events as a receiver may get them, sorts them by
// changedAt, and checks the result against the tenant's history: same changes, same order, each
// event naming the change before it (previousChangedAt, previousStatus).
func (e eventsApp) checkStatusOrder(t *testing.T, tid string) {
	got := e.rcv.events("tenant.status_changed")
	rand.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
	data := make([]map[string]any, len(got))
	for i, ev := range got {
		data[i] = dataOf(t, ev)
	}
	sort.Slice(data, func(i, j int) bool { return data[i]["changedAt"].(string) < data[j]["changedAt"].(string) })
	hist, err := e.a.Firestore().Collection("tenants").Doc(tid).Collection("history").OrderBy("at", firestore.Asc).Documents(context.Background()).GetAll()
	must(t, err)
	var want, rebuilt []string
	for _, h := range hist {
		want = append(want, h.Data()["from"].(string)+"→"+h.Data()["to"].(string))
	}
	prov := dataOf(t, e.rcv.events("tenant.provisioned")[0])
	prevAt, prevStatus := prov["createdAt"].(string), prov["status"].(string)
	for _, d := range data {
		rebuilt = append(rebuilt, d["previousStatus"].(string)+"→"+d["status"].(string))
		if d["previousChangedAt"] != prevAt || d["previousStatus"] != prevStatus {
			t.Errorf("event %v does not follow the change before it (%s at %s)", d, prevStatus, prevAt)
		}
		prevAt, prevStatus = d["changedAt"].(string), d["status"].(string)
	}
	if !slices.Equal(rebuilt, want) || len(want) != 5 {
		t.Errorf("rebuilt from the events: %v; the history says %v (want 5 changes)", rebuilt, want)
	}
}

// verifiedDomain claims a fresh domain for tid with enrollment and verifies it: by the
// verify-domains job when byJob, else by verifyDomain.
func (e eventsApp) verifiedDomain(t *testing.T, owner context.Context, tid string, enrollment domains.Enrollment, byJob bool) string {
	t.Helper()
	d, err := e.a.Domains.Add(owner, tid, uniqueDomain(), enrollment)
	must(t, err)
	e.dns.SetTXT(d.TXTRecordName(), d.TXTRecordValue())
	if byJob {
		e.clk.Advance(6 * time.Minute)
		r, err := e.a.Domains.CheckDue(context.Background())
		if err != nil || r.Verified != 1 {
			t.Fatalf("verify-domains: %s, %v; want %s verified", r, err, d.Name)
		}
		return d.Name
	}
	v, err := e.a.Domains.Verify(owner, d.Name)
	if err != nil || v.Status != domains.StatusVerified {
		t.Fatalf("verifyDomain %s: %s, %v", d.Name, v.Status, err)
	}
	return d.Name
}

// invitationToken reads an invitation's token from its email's outbox entry, in this project.
func (e eventsApp) invitationToken(t *testing.T, invitationID string) string {
	t.Helper()
	snaps, err := e.a.Firestore().Collection("outbox").Where("payload.invitationId", "==", invitationID).Documents(context.Background()).GetAll()
	if err != nil || len(snaps) != 1 {
		t.Fatalf("outbox entry of invitation %s: %d found (%v)", invitationID, len(snaps), err)
	}
	secret, _ := snaps[0].Data()["payload"].(map[string]any)["secret"].(map[string]any)
	tok, _ := secret["token"].(string)
	return tok
}

// Without TENANTRY_EVENTS_URL no event entry is written at all.
func TestNoEventsWithoutAnEventsURL(t *testing.T) {
	t.Parallel()
	iso := emulators(t).IsolatedProject(t)
	s := newServer(t, func(c *config.Config) { c.Project, c.EventsURL, c.EventsSecret = iso.Project, "", "" }, app.Options{})
	owner := auth.WithPrincipal(context.Background(), principal("owner", ""))
	p, err := s.App.Tenancy.ProvisionSelfServe(owner, tenancy.SelfServeInput{IdempotencyKey: uniqueKey(), OrganizationName: "Quiet Org"})
	must(t, err)
	snaps, err := s.App.Firestore().Collection("outbox").Where("tenantId", "==", p.Tenant.ID).Documents(context.Background()).GetAll()
	must(t, err)
	for _, snap := range snaps {
		if snap.Data()["kind"] == (kinds.AppEvent{}).Kind() {
			t.Errorf("event entry %s written without an events URL", snap.Ref.ID)
		}
	}
	if len(snaps) == 0 {
		t.Fatal("no outbox entries at all: the query is wrong")
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
