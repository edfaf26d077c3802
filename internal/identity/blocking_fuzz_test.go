package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantry/tenantry/internal/members"
	"github.com/tenantry/tenantry/internal/testenv"
)

// recordingSignup remembers the users the signup logic was run for.
type recordingSignup struct {
	mu    sync.Mutex
	users []members.User
}

func (r *recordingSignup) OnSignup(_ context.Context, u members.User) (members.SignupResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users = append(r.users, u)
	return members.SignupResult{}, nil
}

func (r *recordingSignup) SignupNeeded(context.Context, members.User) (bool, error) { return true, nil }

func (r *recordingSignup) take() []members.User {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.users
	r.users = nil
	return u
}

// FuzzBlockingHandler: the beforeCreate endpoint, given any body, or any claims signed with
// Google's key (the fuzzer's bytes as the JWT's payload), answers 200, 400 or 401 with JSON and
// never panics; it runs the signup logic only for an event that verifies, and then for exactly
// the user the event names.
func FuzzBlockingHandler(f *testing.F) {
	google := testenv.NewIssuer(f, prodProject)
	now := time.Now()
	aud := publicURL + "/auth/beforeCreate"
	signup := &recordingSignup{}
	b := NewBlocking(BlockingConfig{Project: prodProject, PublicURL: publicURL, Keys: &GoogleKeys{URL: google.URL}, Now: func() time.Time { return now }}, signup)
	h := b.Handler(BeforeCreate)

	claims := func(c map[string]any) []byte { j, _ := json.Marshal(c); return j }
	f.Add([]byte(`{"data":{"jwt":"`+google.Sign(f, event(aud, now))+`"}}`), []byte(nil))
	f.Add([]byte(`{"data":{"jwt":"a.b.c"}}`), claims(event(aud, now)))
	f.Add([]byte(`{"data":{"jwt":""}}`), claims(with(event(aud, now), "user_record", map[string]any{"uid": "u1", "email_verified": "yes"})))
	f.Add([]byte(`{"data":[]}`), claims(with(event(aud, now), "aud", []any{aud, 7})))
	f.Add([]byte(`{"data":{"jwt":"eyJhbGciOiJub25lIn0.e30."}}`), claims(with(event(aud, now), "event_type", "providers/cloud.auth/eventTypes/user.beforeCreate:x")))
	f.Add([]byte(`{`), claims(with(event(aud, now), "exp", "soon")))
	f.Add([]byte(nil), []byte(`{"sub":"u1","user_record":{"uid":"u1"},"iat":1e300}`))

	f.Fuzz(func(t *testing.T, body, payload []byte) {
		// The fuzzer's claims, signed as Identity Platform would sign them, replace the body's
		// token when they are a JSON object.
		var c map[string]any
		if json.Unmarshal(payload, &c) == nil && c != nil {
			body, _ = json.Marshal(map[string]any{"data": map[string]any{"jwt": google.Sign(t, c)}})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/auth/beforeCreate", bytes.NewReader(body)))
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized:
		default:
			t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("the answer is not JSON: %s", rec.Body)
		}
		ran := signup.take()
		if len(ran) == 0 {
			return
		}
		var req struct {
			Data struct {
				JWT string `json:"jwt"`
			} `json:"data"`
		}
		_ = json.Unmarshal(body, &req)
		ev, err := b.Verify(context.Background(), req.Data.JWT, BeforeCreate)
		if err != nil || len(ran) != 1 || !strings.EqualFold(ran[0].UID, ev.UserRecord.UID) || rec.Code != http.StatusOK {
			t.Fatalf("signup ran for %+v (HTTP %d) on an event that does not verify as theirs: %v", ran, rec.Code, err)
		}
	})
}
