package tests

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/testenv"
)

const meQuery = `{ me { user { id email } platformRole memberships { role tenant { id name status } } } }`

type meData struct {
	Me *struct {
		User struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"user"`
		PlatformRole *string `json:"platformRole"`
		Memberships  []struct {
			Role   string `json:"role"`
			Tenant struct {
				ID     string `json:"id"`
				Name   string `json:"name"`
				Status string `json:"status"`
			} `json:"tenant"`
		} `json:"memberships"`
	} `json:"me"`
}

// wantRefused checks a 401 with the GraphQL-shaped UNAUTHENTICATED body and no data.
func wantRefused(t testing.TB, status int, data json.RawMessage, errs []gqlErr) {
	t.Helper()
	if status != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401 (errors %+v, data %s)", status, errs, data)
	}
	if len(errs) != 1 || errs[0].Code() != "UNAUTHENTICATED" {
		t.Errorf("errors = %+v, want one UNAUTHENTICATED", errs)
	}
	if len(data) != 0 && string(data) != "null" {
		t.Errorf("data = %s, want none", data)
	}
}

func TestAnonymous(t *testing.T) {
	t.Parallel()

	t.Run("me", func(t *testing.T) {
		t.Parallel()
		status, data, errs := gql(t, "", meQuery, nil)
		if status != http.StatusOK {
			t.Errorf("HTTP %d, want 200 (anonymous callers reach the server)", status)
		}
		wantCode(t, errs, "UNAUTHENTICATED", "")
		if len(data) != 0 && string(data) != "null" {
			t.Errorf("data = %s, want null", data)
		}
	})

	t.Run("tenant", func(t *testing.T) {
		t.Parallel()
		_, _, errs := gql(t, "", `query($id: ID!) { tenant(id: $id) { id } }`, map[string]any{"id": testenv.UniqueID("x")})
		wantCode(t, errs, "UNAUTHENTICATED", "")
	})

	t.Run("provisionTenant", func(t *testing.T) {
		t.Parallel()
		sub := uniqueSubdomain()
		_, errs := shared(t).provision(t, "", provisionInput(uniqueKey(), "Anonymous Org", sub, ""))
		wantCode(t, errs, "UNAUTHENTICATED", "")
		assertAbsent(t, "subdomains/"+sub)
	})

	t.Run("plans", func(t *testing.T) {
		t.Parallel()
		status, data, errs := gql(t, "", `{ plans { id name seatCap pendingInvitationLimit trialDays } }`, nil)
		var d struct {
			Plans []struct {
				ID        string `json:"id"`
				Name      string `json:"name"`
				SeatCap   int    `json:"seatCap"`
				TrialDays int    `json:"trialDays"`
			} `json:"plans"`
		}
		mustData(t, status, data, errs, &d)
		var ids []string
		for _, p := range d.Plans {
			ids = append(ids, p.ID)
			if p.Name == "" || p.SeatCap < 1 {
				t.Errorf("plan %+v: want a name and a positive seat cap", p)
			}
		}
		if want := []string{"trial", "starter", "pro", "team", "enterprise"}; !slices.Equal(ids, want) {
			t.Errorf("plans = %v, want %v", ids, want)
		}
	})
}

// jwtPart encodes one JWT segment.
func jwtPart(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenClaims decodes the payload of a (real) ID token.
func tokenClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode ID token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatalf("decode ID token claims: %v", err)
	}
	return claims
}

// forgeRS256 signs claims with a key of our own, as an attacker who knows a uid would.
func forgeRS256(t testing.TB, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signing := jwtPart(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "forged-" + testenv.UniqueID("")}) + "." + jwtPart(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestBadTokensAreRefused(t *testing.T) {
	t.Parallel()
	s := shared(t)
	unsigned := func(claims map[string]any) string {
		return jwtPart(map[string]any{"alg": "none", "typ": "JWT"}) + "." + jwtPart(claims) + "."
	}
	// Each case gets its own victim (a real user whose claims the bad token borrows), so one
	// case that gets through cannot blur another's "nothing written" check.
	cases := []struct {
		name   string
		header func(victim testenv.User) string
		note   string
	}{
		{"forged RS256 with a real user's claims", func(v testenv.User) string {
			now := time.Now().Unix()
			c := tokenClaims(t, v.IDToken)
			c["iat"], c["auth_time"], c["exp"] = now, now, now+3600
			return "Bearer " + forgeRS256(t, c)
		}, "a JWT signed with an RSA key of our own, carrying a real user's claims, must not authenticate; " +
			"the Admin SDK skips signature checks while FIREBASE_AUTH_EMULATOR_HOST is set, so the server " +
			"must refuse what the emulator never issues (emulator tokens are alg none with an empty signature)"},
		{"garbage", func(testenv.User) string { return "Bearer abc.def.ghi" }, ""},
		{"expired", func(v testenv.User) string {
			now := time.Now().Unix()
			c := tokenClaims(t, v.IDToken)
			c["iat"], c["auth_time"], c["exp"] = now-7200, now-7200, now-3600
			return "Bearer " + unsigned(c)
		}, ""},
		{"other project", func(v testenv.User) string {
			c := tokenClaims(t, v.IDToken)
			c["aud"], c["iss"] = "some-other-project", "https://securetoken.google.com/some-other-project"
			return "Bearer " + unsigned(c)
		}, ""},
		{"truncated real token", func(v testenv.User) string { return "Bearer " + v.IDToken[:len(v.IDToken)/2] }, ""},
		{"empty bearer", func(testenv.User) string { return "Bearer " }, ""},
		{"other scheme", func(testenv.User) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte("a:b")) }, ""},
		{"service token", func(testenv.User) string { return "Bearer tnt_" + testenv.UniqueID("") }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			victim := newUser(t)
			header := c.header(victim)
			for _, op := range []struct {
				name string
				body map[string]any
			}{
				{"me", map[string]any{"query": meQuery}},
				{"provisionTenant", map[string]any{"query": provisionMutation, "variables": map[string]any{
					"input": provisionInput(uniqueKey(), "Forged Org", "", "")}}},
			} {
				body, _ := json.Marshal(op.body)
				r, err := s.graphql().Send("", http.Header{"Authorization": {header}}, bytes.NewReader(body))
				if err != nil {
					t.Fatalf("%s: %v", op.name, err)
				}
				if r.Status != http.StatusUnauthorized && c.note != "" {
					t.Errorf("%s: HTTP %d %.300s: %s", op.name, r.Status, strings.TrimSpace(string(r.Body)), c.note)
				}
				wantRefused(t, r.Status, r.Data, r.Errors)
			}
			nothingWrittenFor(t, victim.UID)
		})
	}
}

func TestDeletedUserToken(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	if err := authAdmin(t).DeleteUser(context.Background(), u.UID); err != nil {
		t.Fatalf("delete user: %v", err)
	}
	status, data, errs := gql(t, u.IDToken, meQuery, nil)
	wantRefused(t, status, data, errs)
	_, errs = shared(t).provision(t, u.IDToken, provisionInput(uniqueKey(), "Ghost Org", "", ""))
	wantCode(t, errs, "UNAUTHENTICATED", "")
	nothingWrittenFor(t, u.UID)
}

func TestDisabledUserToken(t *testing.T) {
	t.Parallel()
	u := emulators(t).NewUser(t, testenv.UserOptions{Disabled: true})
	status, data, errs := gql(t, u.IDToken, meQuery, nil)
	wantRefused(t, status, data, errs)
	_, errs = shared(t).provision(t, u.IDToken, provisionInput(uniqueKey(), "Disabled Org", "", ""))
	wantCode(t, errs, "UNAUTHENTICATED", "")
	nothingWrittenFor(t, u.UID)
}

func TestRevokedToken(t *testing.T) {
	t.Parallel()
	u := newUser(t)
	// Revocation compares whole seconds: tokens issued before validSince are revoked, so let the
	// token's second pass first.
	time.Sleep(1100 * time.Millisecond)
	if err := authAdmin(t).RevokeRefreshTokens(context.Background(), u.UID); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	status, _, errs := gql(t, u.IDToken, provisionMutation, map[string]any{"input": provisionInput(uniqueKey(), "Revoked Org", "", "")})
	wantCode(t, errs, "UNAUTHENTICATED", "")
	t.Logf("provisionTenant with a revoked token: HTTP %d", status)
	if status != http.StatusOK && status != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401 (or 200 with the error)", status)
	}
	nothingWrittenFor(t, u.UID)

	// A fresh sign-in works again.
	fresh := emulators(t).SignIn(t, u.Email, u.Password)
	shared(t).mustProvision(t, fresh, provisionInput(uniqueKey(), "Back Again", "", ""))
}

const tenantQuery = `query($id: ID!) { tenant(id: $id) { id name status access { canRead canWrite reason }
	members { user { id email } role joinedAt } } }`

type tenantData struct {
	Tenant *struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Status string `json:"status"`
		Access struct {
			CanRead  bool    `json:"canRead"`
			CanWrite bool    `json:"canWrite"`
			Reason   *string `json:"reason"`
		} `json:"access"`
		Members []struct {
			User struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			} `json:"user"`
			Role     string    `json:"role"`
			JoinedAt time.Time `json:"joinedAt"`
		} `json:"members"`
	} `json:"tenant"`
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := shared(t)
	a, b := newUser(t), newUser(t)
	tenantA := s.mustProvision(t, a.IDToken, provisionInput(uniqueKey(), "Tenant A", uniqueSubdomain(), "")).Tenant
	tenantB := s.mustProvision(t, b.IDToken, provisionInput(uniqueKey(), "Tenant B", "", "")).Tenant

	for _, c := range []struct{ name, id string }{
		{"another user's tenant", tenantB.ID},
		{"nonexistent id", testenv.UniqueID("nope")},
		{"path traversal", "../x"},
		{"nested path", tenantB.ID + "/members/" + b.UID},
		{"300 chars", strings.Repeat("x", 300)},
		{"reserved id", "__name__"},
		{"empty", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, data, errs := s.gql(t, a.IDToken, tenantQuery, map[string]any{"id": c.id})
			e := wantCode(t, errs, "NOT_FOUND", "")
			if strings.Contains(e.Message, tenantB.Name) {
				t.Errorf("NOT_FOUND message leaks the tenant: %q", e.Message)
			}
			var d tenantData
			if err := json.Unmarshal(data, &d); err != nil || d.Tenant != nil {
				t.Errorf("data = %s, want tenant null", data)
			}
		})
	}

	// B's tenant stays visible to B, and A's to A: isolation, not breakage.
	_, data, errs := s.gql(t, a.IDToken, tenantQuery, map[string]any{"id": tenantA.ID})
	var d tenantData
	mustData(t, http.StatusOK, data, errs, &d)
	if d.Tenant == nil || d.Tenant.ID != tenantA.ID {
		t.Errorf("owner A reading tenant A: %s", data)
	}
}

func TestMeListsOwnMemberships(t *testing.T) {
	t.Parallel()
	s := shared(t)
	a, b := newUser(t), newUser(t)
	a1 := s.mustProvision(t, a.IDToken, provisionInput(uniqueKey(), "A One", "", "")).Tenant.ID
	a2 := s.mustProvision(t, a.IDToken, provisionInput(uniqueKey(), "A Two", uniqueSubdomain(), "starter")).Tenant.ID
	b1 := s.mustProvision(t, b.IDToken, provisionInput(uniqueKey(), "B One", "", "")).Tenant.ID

	status, data, errs := s.gql(t, a.IDToken, meQuery, nil)
	var d meData
	mustData(t, status, data, errs, &d)
	if d.Me == nil {
		t.Fatal("me is null")
	}
	if d.Me.User.ID != a.UID || d.Me.User.Email != strings.ToLower(a.Email) {
		t.Errorf("me.user = %+v, want %s %s", d.Me.User, a.UID, a.Email)
	}
	if d.Me.PlatformRole != nil {
		t.Errorf("platformRole = %q, want null", *d.Me.PlatformRole)
	}
	var got []string
	for _, m := range d.Me.Memberships {
		got = append(got, m.Tenant.ID)
		if m.Role != "OWNER" {
			t.Errorf("membership in %s: role %s, want OWNER", m.Tenant.ID, m.Role)
		}
		if m.Tenant.Status != "TRIAL" {
			t.Errorf("membership in %s: status %s, want TRIAL", m.Tenant.ID, m.Tenant.Status)
		}
	}
	slices.Sort(got)
	want := []string{a1, a2}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("A's memberships = %v, want %v", got, want)
	}
	if slices.Contains(got, b1) {
		t.Errorf("A's memberships include B's tenant %s", b1)
	}

	// A user without tenants has an empty list, not an error.
	c := newUser(t)
	status, data, errs = s.gql(t, c.IDToken, meQuery, nil)
	var dc meData
	mustData(t, status, data, errs, &dc)
	if dc.Me == nil || len(dc.Me.Memberships) != 0 {
		t.Errorf("new user's me = %s, want no memberships", data)
	}
}

func TestTenantForOwner(t *testing.T) {
	t.Parallel()
	s := shared(t)
	u := newUser(t)
	before := time.Now()
	p := s.mustProvision(t, u.IDToken, provisionInput(uniqueKey(), "Owner View", uniqueSubdomain(), ""))

	status, data, errs := s.gql(t, u.IDToken, tenantQuery, map[string]any{"id": p.Tenant.ID})
	var d tenantData
	mustData(t, status, data, errs, &d)
	tn := d.Tenant
	if tn == nil || tn.ID != p.Tenant.ID || tn.Name != "Owner View" || tn.Status != "TRIAL" {
		t.Fatalf("tenant = %s", data)
	}
	if !tn.Access.CanRead || !tn.Access.CanWrite || tn.Access.Reason != nil {
		t.Errorf("access = %+v, want read and write, no reason", tn.Access)
	}
	if len(tn.Members) != 1 {
		t.Fatalf("members = %+v, want the owner only", tn.Members)
	}
	m := tn.Members[0]
	if m.User.ID != u.UID || m.User.Email != strings.ToLower(u.Email) || m.Role != "OWNER" {
		t.Errorf("member = %+v, want %s %s OWNER", m, u.UID, u.Email)
	}
	if m.JoinedAt.Before(before.Add(-2*time.Minute)) || m.JoinedAt.After(time.Now().Add(2*time.Minute)) {
		t.Errorf("joinedAt = %s, want about %s", m.JoinedAt, before)
	}
}
