// Package identity connects Firebase Auth / Identity Platform to the signup logic of package
// members, which it reaches three ways so that it works whatever a deployment has: the blocking
// functions beforeCreate and beforeSignIn (Blocking, served at POST /auth/beforeCreate and
// /auth/beforeSignIn), the user's first authenticated request (Lazy, a hook in the server's auth
// middleware), and the 1st-gen user.create background function in functions/.
package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tenantry/tenantry/internal/members"
)

// Signup is the signup logic (members.Service).
type Signup interface {
	OnSignup(ctx context.Context, u members.User) (members.SignupResult, error)
	SignupNeeded(ctx context.Context, u members.User) (bool, error)
}

// Event is a blocking function's trigger.
type Event string

// Blocking events. The event JWT names them by these short names (firebase-functions maps them to
// providers/cloud.auth/eventTypes/user.<name>, which is accepted too).
const (
	BeforeCreate Event = "beforeCreate"
	BeforeSignIn Event = "beforeSignIn"
)

// BlockingConfig says how event JWTs are verified.
type BlockingConfig struct {
	Project string // the Firebase project: the issuer is https://securetoken.google.com/<Project>
	// Audiences are the accepted "aud" values in production (the project id, and the endpoint
	// URLs registered with Identity Platform).
	Audiences []string
	// Emulator accepts only the Auth emulator's unsigned JWTs (alg "none"), and takes any audience
	// whose path is the endpoint's. It is set only when FIREBASE_AUTH_EMULATOR_HOST is, which
	// production refuses at start; without it, a JWT must be signed by one of Google's keys.
	Emulator bool
	Keys     KeySource        // production; default GoogleKeys
	Now      func() time.Time // default time.Now
}

// Blocking serves the Identity Platform blocking functions.
type Blocking struct {
	cfg    BlockingConfig
	signup Signup
}

// NewBlocking builds the blocking-function endpoints.
func NewBlocking(cfg BlockingConfig, signup Signup) *Blocking {
	if cfg.Keys == nil {
		cfg.Keys = &GoogleKeys{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Blocking{cfg: cfg, signup: signup}
}

// UserRecord is the user in an event JWT.
type UserRecord struct {
	UID           string `json:"uid"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Disabled      bool   `json:"disabled"`
}

// EventClaims are the claims of a blocking function's event JWT.
type EventClaims struct {
	jwt.RegisteredClaims
	EventID      string     `json:"event_id"`
	EventType    string     `json:"event_type"`
	SignInMethod string     `json:"sign_in_method"`
	UserRecord   UserRecord `json:"user_record"`
}

// leeway absorbs clock skew between Google and us.
const leeway = 30 * time.Second

// Verify checks an event JWT for the endpoint at path and returns its claims.
func (b *Blocking) Verify(ctx context.Context, token, path string) (EventClaims, error) {
	var c EventClaims
	issuer := "https://securetoken.google.com/" + b.cfg.Project
	opts := []jwt.ParserOption{
		jwt.WithIssuer(issuer), jwt.WithLeeway(leeway), jwt.WithTimeFunc(b.cfg.Now),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
	}
	if b.cfg.Emulator {
		parsed, parts, err := jwt.NewParser(opts...).ParseUnverified(token, &c)
		if err != nil {
			return c, fmt.Errorf("%w: %v", errBadToken, err)
		}
		if parsed.Method.Alg() != "none" || len(parts) != 3 || parts[2] != "" {
			// The emulator only sends unsigned tokens, and against it we cannot check a
			// signature; a signed token here is someone else's.
			return c, fmt.Errorf("%w: want the Auth emulator's unsigned token", errBadToken)
		}
		if err := jwt.NewValidator(opts...).Validate(c); err != nil {
			return c, fmt.Errorf("%w: %v", errBadToken, err)
		}
		if !slices.ContainsFunc(c.Audience, func(a string) bool { u, err := url.Parse(a); return err == nil && u.Path == path }) {
			return c, fmt.Errorf("%w: audience %v is not this endpoint", errBadToken, c.Audience)
		}
		return c, nil
	}
	keyErr := error(nil)
	_, err := jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := b.cfg.Keys.Key(ctx, kid)
		if errors.Is(err, errKeysUnavailable) {
			keyErr = err
		}
		return k, err
	}, append(opts, jwt.WithValidMethods([]string{"RS256"}))...)
	if keyErr != nil {
		return c, keyErr
	}
	if err != nil {
		return c, fmt.Errorf("%w: %v", errBadToken, err)
	}
	if !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(b.cfg.Audiences, a) }) {
		return c, fmt.Errorf("%w: audience %v is not one of ours; set TENANTRY_PUBLIC_URL to the URL registered with Identity Platform", errBadToken, c.Audience)
	}
	return c, nil
}

// maxBlockingBody bounds the request; an event JWT is a few kilobytes.
const maxBlockingBody = 64 << 10

// Handler serves one blocking function. The request is {"data":{"jwt":"<event JWT>"}}. A verified
// event runs the signup logic and is answered 200 with {}: no change to the user record, because
// Tenantry keeps roles in Firestore (where the rules read them) rather than in claims, which go
// stale, and because claims returned from beforeSignIn would replace the user's own custom claims
// (platformRole). The answer is {} even when the signup logic fails: a Firestore hiccup must not
// stop people from signing up, and the same logic runs again on the user's first request. A token
// that does not verify is refused (401), and nothing is done for it.
func (b *Blocking) Handler(event Event) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		var body struct {
			Data struct {
				JWT string `json:"jwt"`
			} `json:"data"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBlockingBody)).Decode(&body); err != nil || body.Data.JWT == "" {
			writeBlockingError(w, http.StatusBadRequest, "INVALID_ARGUMENT", `send {"data":{"jwt":"<event JWT>"}} as Identity Platform does`)
			return
		}
		c, err := b.Verify(ctx, body.Data.JWT, r.URL.Path)
		if errors.Is(err, errKeysUnavailable) {
			// We cannot tell a real event from a forged one, so we act on neither; the signup goes
			// on, and the first request does the work.
			slog.ErrorContext(ctx, "blocking function: cannot verify the event; signup continues without invitations", "event", string(event), "error", err.Error())
			writeJSON(w, http.StatusOK, struct{}{})
			return
		}
		if err != nil {
			slog.WarnContext(ctx, "blocking function: event refused", "event", string(event), "error", err.Error())
			writeBlockingError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the event token is invalid")
			return
		}
		if !matchesEvent(c.EventType, event) {
			writeBlockingError(w, http.StatusBadRequest, "INVALID_ARGUMENT", fmt.Sprintf("this endpoint serves %s, not %q: register it for %s only", event, c.EventType, event))
			return
		}
		u := members.User{UID: c.UserRecord.UID, Email: c.UserRecord.Email, EmailVerified: c.UserRecord.EmailVerified}
		if u.UID == "" {
			writeBlockingError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "the event has no user_record.uid")
			return
		}
		res, err := b.signup.OnSignup(ctx, u)
		if err != nil {
			slog.ErrorContext(ctx, "blocking function: signup logic failed; the user's first request retries it", "event", string(event), "uid", u.UID, "error", err.Error())
		} else {
			slog.InfoContext(ctx, "blocking function: signup", "event", string(event), "uid", u.UID, "verified", u.EmailVerified, "accepted", len(res.Accepted))
		}
		writeJSON(w, http.StatusOK, struct{}{})
	})
}

func matchesEvent(got string, want Event) bool {
	return got == string(want) || got == "providers/cloud.auth/eventTypes/user."+string(want) ||
		strings.HasPrefix(got, "providers/cloud.auth/eventTypes/user."+string(want)+":")
}

// writeBlockingError answers in the shape Identity Platform (and the emulator) show to the client:
// {"error":{"status","message"}}.
func writeBlockingError(w http.ResponseWriter, code int, status, message string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"status": status, "message": message}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
