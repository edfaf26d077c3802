package testenv_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/testenv"
	"github.com/tenantry/tenantry/rules"
)

func TestUniqueID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^t-[a-z0-9]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := testenv.UniqueID("t-")
		if !re.MatchString(id) {
			t.Fatalf("UniqueID(%q) = %q, want prefix and 12 lowercase alphanumerics", "t-", id)
		}
		if seen[id] {
			t.Fatalf("UniqueID returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewUserTokenVerifies(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := context.Background()
	u := env.NewUser(t, testenv.UserOptions{
		EmailVerified: true,
		Claims:        map[string]any{auth.PlatformRoleClaim: "sales"},
	})
	if u.UID == "" || u.IDToken == "" || u.Email == "" || u.Password == "" {
		t.Fatalf("NewUser returned an incomplete user: %+v", u)
	}

	tok, err := env.Auth(t).VerifyIDToken(ctx, u.IDToken)
	if err != nil {
		t.Fatalf("VerifyIDToken: %v", err)
	}
	if tok.UID != u.UID {
		t.Errorf("token uid = %q, want %q", tok.UID, u.UID)
	}
	if got := tok.Claims[auth.PlatformRoleClaim]; got != "sales" {
		t.Errorf("token claim platformRole = %v, want sales", got)
	}
	if got := tok.Claims["email_verified"]; got != true {
		t.Errorf("token claim email_verified = %v, want true", got)
	}
	if _, err := env.Auth(t).VerifyIDTokenAndCheckRevoked(ctx, u.IDToken); err != nil {
		t.Errorf("VerifyIDTokenAndCheckRevoked of an enabled user: %v", err)
	}

	// A fresh sign-in gives another valid token for the same user.
	tok2, err := env.Auth(t).VerifyIDToken(ctx, env.SignIn(t, u.Email, u.Password))
	if err != nil || tok2.UID != u.UID {
		t.Errorf("token from SignIn: uid %v, err %v; want uid %q", tok2, err, u.UID)
	}
}

func TestDisabledUserTokenIsRejected(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	u := env.NewUser(t, testenv.UserOptions{Disabled: true})
	if u.IDToken == "" {
		t.Fatal("NewUser with Disabled returned no ID token")
	}
	_, err := env.Auth(t).VerifyIDTokenAndCheckRevoked(context.Background(), u.IDToken)
	if err == nil {
		t.Fatal("VerifyIDTokenAndCheckRevoked accepted the token of a disabled user")
	}
	if !fbauth.IsUserDisabled(err) {
		t.Errorf("VerifyIDTokenAndCheckRevoked error = %v, want a user-disabled error", err)
	}
}

func TestFirestoreAdminAndREST(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t)
	ctx := context.Background()
	id := testenv.UniqueID("testenv-")
	// The admin client writes, bypassing the rules.
	if _, err := env.Firestore(t).Collection("testenv").Doc(id).Set(ctx, map[string]any{"n": 1}); err != nil {
		t.Fatalf("admin write: %v", err)
	}
	// "owner" is the emulator's admin token: the read bypasses the rules, whatever rules are loaded.
	status, body := env.FirestoreREST(t, http.MethodGet, "testenv/"+id, "owner", nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"integerValue": "1"`) {
		t.Errorf("REST read as owner: HTTP %d (%s), want 200 with n=1", status, body)
	}
	if status, body := env.FirestoreREST(t, http.MethodGet, "testenv/"+testenv.UniqueID("missing-"), "owner", nil); status != http.StatusNotFound {
		t.Errorf("REST read of a missing document: HTTP %d (%s), want 404", status, body)
	}
}

// fakeFirestore answers the REST calls of TryFirestoreREST with the statuses and bodies given, one
// per call (the last one repeats), and counts the calls.
func fakeFirestore(t *testing.T, answers ...string) (testenv.Env, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		status, body, _ := strings.Cut(answers[min(n, len(answers))-1], " ")
		code, _ := strconv.Atoi(status)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return testenv.Env{Project: "demo-fake", FirestoreHost: strings.TrimPrefix(srv.URL, "http://")}, &calls
}

// The emulator's lock timeouts (409 ABORTED) are retried; other conflicts are answers.
func TestFirestoreRESTRetriesOnlyAborted(t *testing.T) {
	t.Parallel()
	const aborted = `409 {"error": {"status": "ABORTED", "message": "Transaction lock timeout"}}`
	cases := []struct {
		name      string
		answers   []string
		status    int
		wantCalls int32
	}{
		{"aborted twice, then written", []string{aborted, aborted, `200 {}`}, http.StatusOK, 3},
		{"already exists", []string{`409 {"error": {"status": "ALREADY_EXISTS"}}`, `200 {}`}, http.StatusConflict, 1},
		{"refused by the rules", []string{`403 {"error": {"status": "PERMISSION_DENIED"}}`, `200 {}`}, http.StatusForbidden, 1},
		{"aborted every time", []string{aborted}, http.StatusConflict, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env, calls := fakeFirestore(t, c.answers...)
			status, _, err := env.TryFirestoreREST(http.MethodPatch, "tenants/t1/notes/n1", "token", map[string]any{"fields": map[string]any{}})
			if err != nil || status != c.status || calls.Load() != c.wantCalls {
				t.Errorf("HTTP %d after %d calls (%v), want %d after %d", status, calls.Load(), err, c.status, c.wantCalls)
			}
		})
	}
}

func TestGraphQLClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path != "/graphql" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
			w.WriteHeader(http.StatusNotFound)
		case strings.Contains(string(body), "broken"):
			_, _ = io.WriteString(w, "<html>not GraphQL</html>")
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"message":"sign in","extensions":{"code":"UNAUTHENTICATED"}}],"data":null}`)
		default:
			w.Header().Set("X-Echo", r.Header.Get("X-Request-Id"))
			_, _ = io.WriteString(w, `{"data":{"me":{"id":"u1"}}}`)
		}
	}))
	t.Cleanup(srv.Close)
	api := testenv.GraphQL{URL: srv.URL}

	a, err := api.Send("tok", http.Header{"X-Request-Id": {"req-12345678"}}, strings.NewReader(`{"query":"{ me { id } }"}`))
	if err != nil || a.Status != http.StatusOK || a.Codes() != "" || a.Err() != nil || string(a.FieldJSON("me")) != `{"id":"u1"}` || a.Header.Get("X-Echo") != "req-12345678" {
		t.Errorf("Send: %+v, %v", a, err)
	}
	me, errs, err := testenv.DecodeField[struct{ ID string }](a, "me")
	if err != nil || errs != nil || me.ID != "u1" {
		t.Errorf("DecodeField(me) = %+v, %v, %v", me, errs, err)
	}
	if _, _, err := testenv.DecodeField[struct{ ID string }](a, "you"); err == nil {
		t.Error("DecodeField of a missing field: no error")
	}

	a, err = api.Call("", `{ me { id } }`, nil)
	if err != nil || a.Status != http.StatusUnauthorized || a.Codes() != "UNAUTHENTICATED" || a.Err() == nil || string(a.FieldJSON("me")) != "" {
		t.Errorf("anonymous Call: %+v, %v", a, err)
	}
	if _, errs, err := testenv.DecodeField[struct{ ID string }](a, "me"); err != nil || len(errs) != 1 {
		t.Errorf("DecodeField of an answer with errors = %v, %v; want the errors", errs, err)
	}

	if a, err := api.Call("tok", `{ broken }`, nil); err == nil || a.Status != http.StatusOK {
		t.Errorf("a body that is not GraphQL: HTTP %d, err %v; want an error", a.Status, err)
	}
}

func TestSeedTenantsAndUpdateDoc(t *testing.T) {
	t.Parallel()
	env := testenv.Require(t).IsolatedProject(t)
	fs := env.Firestore(t)
	ctx := context.Background()
	end := time.Date(2031, 5, 1, 12, 0, 0, 0, time.UTC)
	tn := testenv.Tenant{ID: testenv.UniqueID("seed-"), Status: rules.StatusPastDue, TrialEndsAt: end,
		Members: []testenv.Member{{UID: "u1", Role: rules.RoleOwner}, {UID: "u2", Role: rules.RoleViewer, Email: "v@example.test"}}}
	testenv.SeedTenants(t, fs, tn)

	snap, err := fs.Doc(tn.Path()).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	d := snap.Data()
	if d["status"] != "past_due" || d["seatsUsed"] != int64(2) || d["seatCap"] != int64(5) || d["planId"] != "starter" ||
		!d["trialEndsAt"].(time.Time).Equal(end) || !d["createdAt"].(time.Time).Equal(end.AddDate(0, 0, -14)) || d["contract"] != nil {
		t.Errorf("tenant document: %v", d)
	}
	for uid, want := range map[string]string{"u1": "owner u1@example.test", "u2": "viewer v@example.test"} {
		m, err := fs.Doc(tn.Path() + "/members/" + uid).Get(ctx)
		if err != nil || fmt.Sprint(m.Data()["role"], " ", m.Data()["email"]) != want {
			t.Errorf("member %s: %v, %v; want %s", uid, m.Data(), err, want)
		}
	}

	testenv.UpdateDoc(t, fs, tn.Path(), map[string]any{"seatCap": 20, "status": "active"})
	if snap, err = fs.Doc(tn.Path()).Get(ctx); err != nil || snap.Data()["seatCap"] != int64(20) || snap.Data()["status"] != "active" || snap.Data()["planId"] != "starter" {
		t.Errorf("after UpdateDoc: %v, %v", snap.Data(), err)
	}
}
