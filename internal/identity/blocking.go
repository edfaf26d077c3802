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

	fbauth "firebase.google.com/go/v4/auth"
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
	// PublicURL is the base URL Identity Platform calls (TENANTRY_PUBLIC_URL): in production an
	// event's audience must be <PublicURL>/auth/<event>, the function's URL, which no ID token
	// carries (theirs is the project id).
	PublicURL string
	// Emulator accepts only the Auth emulator's unsigned JWTs (alg "none"), whose audience path
	// must be the endpoint's, and acts on one only when the emulator has the user it describes
	// (Users). It is set only when FIREBASE_AUTH_EMULATOR_HOST is; without it, a JWT must be
	// signed by one of Google's keys.
	Emulator bool
	Users    Users            // emulator mode: the Auth emulator's accounts
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
	EventID    string     `json:"event_id"`
	EventType  string     `json:"event_type"`
	UserRecord UserRecord `json:"user_record"`
}

// leeway absorbs clock skew between Google and us.
const leeway = 30 * time.Second

// Verify checks an event JWT for the blocking function of event and returns its claims.
func (b *Blocking) Verify(ctx context.Context, token string, event Event) (EventClaims, error) {
	var c EventClaims
	opts := []jwt.ParserOption{
		jwt.WithIssuer(googleIssuer(b.cfg.Project)), jwt.WithLeeway(leeway), jwt.WithTimeFunc(b.cfg.Now),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
	}
	var err error
	if b.cfg.Emulator {
		err = b.parseEmulator(token, event, &c, opts)
	} else {
		err = b.parseSigned(ctx, token, event, &c, opts)
	}
	if err != nil {
		return c, err
	}
	if c.UserRecord.UID == "" || c.Subject != c.UserRecord.UID {
		return c, fmt.Errorf("%w: the subject must be the user_record's uid", errBadToken)
	}
	return c, nil
}

// parseEmulator accepts the Auth emulator's unsigned token addressed to this endpoint.
func (b *Blocking) parseEmulator(token string, event Event, c *EventClaims, opts []jwt.ParserOption) error {
	parsed, parts, err := jwt.NewParser(opts...).ParseUnverified(token, c)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadToken, err)
	}
	if parsed.Method.Alg() != "none" || len(parts) != 3 || parts[2] != "" {
		// The emulator only sends unsigned tokens, and against it we cannot check a signature;
		// a signed token here is someone else's.
		return fmt.Errorf("%w: want the Auth emulator's unsigned token", errBadToken)
	}
	if err := jwt.NewValidator(opts...).Validate(c); err != nil {
		return fmt.Errorf("%w: %v", errBadToken, err)
	}
	path := "/auth/" + string(event)
	if !slices.ContainsFunc(c.Audience, func(a string) bool { u, err := url.Parse(a); return err == nil && strings.HasSuffix(u.Path, path) }) {
		return fmt.Errorf("%w: audience %v is not this endpoint", errBadToken, c.Audience)
	}
	return nil
}

// parseSigned accepts a token signed by Google for this function's URL.
func (b *Blocking) parseSigned(ctx context.Context, token string, event Event, c *EventClaims, opts []jwt.ParserOption) error {
	if b.cfg.PublicURL == "" {
		return fmt.Errorf("%w: set TENANTRY_PUBLIC_URL to the base URL registered with Identity Platform", errBadToken)
	}
	aud := strings.TrimRight(b.cfg.PublicURL, "/") + "/auth/" + string(event)
	keyErr := error(nil)
	_, err := jwt.ParseWithClaims(token, c, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := b.cfg.Keys.Key(ctx, kid)
		if errors.Is(err, errKeysUnavailable) {
			keyErr = err
		}
		return k, err
	}, append(opts, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(aud))...)
	if keyErr != nil {
		return keyErr
	}
	if err != nil {
		return fmt.Errorf("%w: %v (the audience must be %s, the URL registered with Identity Platform: check TENANTRY_PUBLIC_URL)", errBadToken, err, aud)
	}
	return nil
}

// check verifies an event for the endpoint of event and confirms its user. act is false for a
// genuine event on which nothing is to be done (see confirm).
func (b *Blocking) check(ctx context.Context, token string, event Event) (u members.User, act bool, err error) {
	c, err := b.Verify(ctx, token, event)
	if err != nil {
		return u, false, err
	}
	if !matchesEvent(c.EventType, event) {
		return u, false, fmt.Errorf("%w: this endpoint serves %s, not %q: register it for %s only", errWrongEvent, event, c.EventType, event)
	}
	return b.confirm(ctx, c, event)
}

// confirm returns the user an event is about and whether to act on it. Google's signature vouches
// for a production event. The emulator signs nothing (anyone on the machine could post an event),
// so there the user must exist in the Auth emulator with the event's uid and email, and the
// emulator's record, not the event, says whether the email is verified. beforeCreate comes before
// the emulator stores the user: it is acknowledged without acting, and the beforeSignIn the
// emulator sends right after the creation does the work.
func (b *Blocking) confirm(ctx context.Context, c EventClaims, event Event) (members.User, bool, error) {
	u := members.User{UID: c.UserRecord.UID, Email: c.UserRecord.Email, EmailVerified: c.UserRecord.EmailVerified}
	if !b.cfg.Emulator {
		return u, true, nil
	}
	rec, err := b.cfg.Users.GetUser(ctx, u.UID)
	switch {
	case fbauth.IsUserNotFound(err) && event == BeforeCreate:
		return u, false, nil
	case fbauth.IsUserNotFound(err):
		return u, false, fmt.Errorf("%w: the Auth emulator has no user %s", errBadToken, u.UID)
	case err != nil:
		return u, false, fmt.Errorf("%w: %v", ErrUsersUnavailable, err)
	case !strings.EqualFold(rec.Email, u.Email) || rec.Disabled:
		return u, false, fmt.Errorf("%w: the Auth emulator's user %s is not as the event says", errBadToken, u.UID)
	}
	u.EmailVerified = rec.EmailVerified
	return u, true, nil
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
		u, act, err := b.check(ctx, body.Data.JWT, event)
		switch {
		case errors.Is(err, errKeysUnavailable), errors.Is(err, ErrUsersUnavailable):
			// We cannot tell a real event from a forged one, so we act on neither; the signup goes
			// on, and the first request does the work.
			slog.ErrorContext(ctx, "blocking function: cannot verify the event; signup continues without invitations", "event", string(event), "error", err.Error())
			writeJSON(w, http.StatusOK, struct{}{})
			return
		case errors.Is(err, errWrongEvent):
			writeBlockingError(w, http.StatusBadRequest, "INVALID_ARGUMENT", err.Error())
			return
		case err != nil:
			slog.WarnContext(ctx, "blocking function: event refused", "event", string(event), "error", err.Error())
			writeBlockingError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "the event token is invalid")
			return
		case !act:
			slog.InfoContext(ctx, "blocking function: the Auth emulator has no such user yet; beforeSignIn acts", "event", string(event), "uid", u.UID)
			writeJSON(w, http.StatusOK, struct{}{})
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
