package rules_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

// TestFirstRules runs the repository's firestore.rules in the Firestore emulator and checks them
// with real ID tokens over REST (the Go server SDK's "Bearer owner" would bypass the rules).
//
// The rules are loaded once for the package (loadRules): the generated text, which
// TestCheckedInRulesAreGenerated proves equal to the checked-in file.
func TestFirstRules(t *testing.T) {
	t.Parallel()
	env := loadRules(t)

	ctx := context.Background()
	fs := env.Firestore(t)
	member := env.NewUser(t, testenv.UserOptions{EmailVerified: true})
	outsider := env.NewUser(t, testenv.UserOptions{EmailVerified: true})

	tenantID := testenv.UniqueID("t-")
	tenantPath := "tenants/" + tenantID
	docs := map[string]map[string]any{
		"users/" + member.UID:   {"email": member.Email, "tenantIds": []string{}},
		"users/" + outsider.UID: {"email": outsider.Email, "tenantIds": []string{}},
	}
	addDocs(docs, seedTenant(tenantID, rules.StatusTrial, time.Now().Add(7*24*time.Hour), member.As(rules.RoleOwner)))
	testenv.WriteDocs(t, fs, docs)
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = fs.Doc(tenantPath + "/members/" + member.UID).Delete(ctx)
		_, _ = fs.Doc(tenantPath).Delete(ctx)
		_, _ = fs.Doc("users/" + member.UID).Delete(ctx)
		_, _ = fs.Doc("users/" + outsider.UID).Delete(ctx)
	})

	patch := map[string]any{"fields": map[string]any{"name": map[string]any{"stringValue": "hijacked"}}}

	cases := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		want   int
	}{
		{"member reads their tenant", http.MethodGet, tenantPath, member.IDToken, nil, http.StatusOK},
		{"member reads their membership", http.MethodGet, tenantPath + "/members/" + member.UID, member.IDToken, nil, http.StatusOK},
		{"non-member cannot read the tenant", http.MethodGet, tenantPath, outsider.IDToken, nil, http.StatusForbidden},
		{"non-member cannot read a membership", http.MethodGet, tenantPath + "/members/" + member.UID, outsider.IDToken, nil, http.StatusForbidden},
		{"member cannot update the tenant", http.MethodPatch, tenantPath + "?updateMask.fieldPaths=name", member.IDToken, patch, http.StatusForbidden},
		{"member cannot create a membership", http.MethodPatch, tenantPath + "/members/" + outsider.UID, member.IDToken,
			map[string]any{"fields": map[string]any{"role": map[string]any{"stringValue": "admin"}}}, http.StatusForbidden},
		{"member cannot write an invitation", http.MethodPatch, tenantPath + "/invitations/" + testenv.UniqueID("i-"), member.IDToken,
			map[string]any{"fields": map[string]any{"email": map[string]any{"stringValue": "x@example.test"}}}, http.StatusForbidden},
		{"user reads their own users doc", http.MethodGet, "users/" + member.UID, member.IDToken, nil, http.StatusOK},
		{"user cannot read another user's doc", http.MethodGet, "users/" + outsider.UID, member.IDToken, nil, http.StatusForbidden},
		{"user cannot write their own users doc", http.MethodPatch, "users/" + member.UID + "?updateMask.fieldPaths=tenantIds", member.IDToken,
			map[string]any{"fields": map[string]any{"tenantIds": map[string]any{"arrayValue": map[string]any{}}}}, http.StatusForbidden},
		{"unauthenticated cannot read the tenant", http.MethodGet, tenantPath, "", nil, http.StatusForbidden},
		{"unauthenticated cannot read a users doc", http.MethodGet, "users/" + member.UID, "", nil, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := env.FirestoreREST(t, tc.method, tc.path, tc.token, tc.body)
			if status != tc.want {
				t.Errorf("%s %s: HTTP %d, want %d; body: %s", tc.method, tc.path, status, tc.want, body)
			}
		})
	}

	// The denied PATCH must not have changed anything.
	snap, err := fs.Doc(tenantPath).Get(ctx)
	if err != nil {
		t.Fatalf("read tenant back: %v", err)
	}
	if name, _ := snap.DataAt("name"); name != "Rules Test Org" {
		t.Errorf("tenant name after denied PATCH = %v, want unchanged", name)
	}
}
