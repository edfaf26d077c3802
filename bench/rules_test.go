package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/appdecl"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// BenchmarkRulesEvaluation measures what the application's declaration costs a client write: the
// p50 of a Firestore write through the rules, as a member over REST, with Tenantry's own rules
// (no declaration) and with the clinic example's (role lists with app roles, a schema, and for
// appointments two reference lookups). Each side has a project of its own; the writes alternate
// in one loop, so both see the same machine. 300 rounds.
// Run: go test -run '^$' -bench RulesEvaluation -benchtime 1x ./bench/
func BenchmarkRulesEvaluation(b *testing.B) {
	decl, err := appdecl.Load("../examples/clinic/tenantry.app.yaml")
	if err != nil {
		b.Fatal(err)
	}
	base := testenv.Require(b)
	owner := base.NewUser(b, testenv.UserOptions{EmailVerified: true})
	plain := rulesProject(b, rules.FirestoreRules(), owner)
	clinic := rulesProject(b, rules.FirestoreRulesFor(decl.App), owner)
	kinds := []struct {
		name string
		env  testenv.Env
		path string
		doc  map[string]any
	}{
		{"no declaration: notes", plain, "notes", map[string]any{"text": map[string]any{"stringValue": "hello"}}},
		{"clinic: clients (schema)", clinic, "clients", map[string]any{"name": map[string]any{"stringValue": "Ada"}}},
		{"clinic: appointments (schema, 2 references)", clinic, "appointments", map[string]any{
			"clientId": map[string]any{"stringValue": "c-seed"}, "practitionerId": map[string]any{"stringValue": "p-seed"},
			"startsAt": map[string]any{"stringValue": "2026-12-01T09:00:00Z"}, "minutes": map[string]any{"integerValue": "30"},
		}},
	}
	const rounds = 300
	for b.Loop() {
		samples := make([]*Sample, len(kinds))
		for i := range samples {
			samples[i] = &Sample{}
		}
		start := time.Now()
		for r := range rounds {
			for i, k := range kinds {
				t0 := time.Now()
				code, body := k.env.FirestoreREST(b, http.MethodPatch, fmt.Sprintf("tenants/bench/%s/d%d", k.path, r), owner.IDToken, map[string]any{"fields": k.doc})
				if code != http.StatusOK {
					b.Fatalf("%s: HTTP %d %s", k.name, code, body)
				}
				samples[i].Add(time.Since(t0))
			}
		}
		wall := time.Since(start)
		rows := []string{Header()}
		for i, k := range kinds {
			rows = append(rows, Row(k.name, samples[i], wall))
		}
		p50 := func(i int) float64 { return float64(samples[i].Percentile(50)) }
		rows = append(rows, fmt.Sprintf("p50 ratio to no declaration: clients %.2f×, appointments %.2f×", p50(1)/p50(0), p50(2)/p50(0)))
		b.Logf("\n%s", strings.Join(rows, "\n"))
	}
}

// rulesProject is a Firestore project of its own with rulesText, an active tenant "bench" whose
// owner is u, and the client and practitioner that appointments reference.
func rulesProject(b *testing.B, rulesText string, u testenv.User) testenv.Env {
	env := testenv.Require(b).IsolatedProject(b)
	env.SetRules(b, rulesText)
	fs := env.Firestore(b)
	ctx := context.Background()
	now := time.Now()
	docs := map[string]map[string]any{
		"tenants/bench": {"name": "Bench", "status": "active", "planId": "pro", "seatCap": 50, "seatsUsed": 1,
			"pendingInvitations": 0, "trialEndsAt": now.Add(-time.Hour), "source": "self_serve", "createdAt": now},
		"tenants/bench/members/" + u.UID:     {"role": "owner", "email": u.Email, "joinedAt": now},
		"tenants/bench/clients/c-seed":       {"name": "Seed"},
		"tenants/bench/practitioners/p-seed": {"name": "Dr Seed", "specialty": "general"},
	}
	for path, d := range docs {
		if _, err := fs.Doc(path).Set(ctx, d); err != nil {
			b.Fatal(err)
		}
	}
	return env
}
