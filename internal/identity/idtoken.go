package identity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	fbauth "firebase.google.com/go/v4/auth"
	"github.com/golang-jwt/jwt/v5"
)

// Users looks accounts up in Firebase Auth; the Admin SDK's *auth.Client is one. In production it
// answers from Firebase Auth, against the emulator from the emulator.
type Users interface {
	GetUser(ctx context.Context, uid string) (*fbauth.UserRecord, error)
}

// Why an ID token was refused. The server maps them to 401, except ErrKeysUnavailable and
// ErrUsersUnavailable (503: the caller is not at fault).
var (
	ErrTokenInvalid     = errors.New("the ID token is invalid")
	ErrTokenExpired     = errors.New("the ID token has expired")
	ErrTokenRevoked     = errors.New("the ID token was revoked")
	ErrUserDisabled     = errors.New("the user is disabled")
	ErrUserNotFound     = errors.New("the user no longer exists")
	ErrKeysUnavailable  = errKeysUnavailable
	ErrUsersUnavailable = errors.New("the user could not be looked up in Firebase Auth")
)

// maxUIDLength is Firebase Auth's limit on a uid.
const maxUIDLength = 128

// IDTokenConfig configures IDTokens.
type IDTokenConfig struct {
	Project string           // the Firebase project: audience, and issuer https://securetoken.google.com/<Project>
	Keys    KeySource        // default GoogleKeys (the same certificates sign the blocking events)
	Users   Users            // for the revocation check
	Now     func() time.Time // default time.Now
}

// IDTokens verifies Firebase ID tokens as production must: an RS256 signature by one of Google's
// securetoken keys, the project's issuer and audience, a subject, and issue, sign-in and expiry
// times that make sense. VerifyIDTokenAndCheckRevoked also asks Firebase Auth whether the user
// still exists, is enabled, and signed in after their tokens were last revoked. The server uses it
// whenever FIREBASE_AUTH_EMULATOR_HOST is unset; it implements the server's TokenVerifier. (The
// Admin SDK verifies the same way, but its key URL cannot be changed, so its production path could
// not be tested; this one is, with keys a test serves.)
type IDTokens struct {
	cfg    IDTokenConfig
	parser *jwt.Parser
}

// NewIDTokens builds the verifier.
func NewIDTokens(cfg IDTokenConfig) *IDTokens {
	if cfg.Keys == nil {
		cfg.Keys = &GoogleKeys{}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(googleIssuer(cfg.Project)),
		jwt.WithAudience(cfg.Project), jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(cfg.Now))
	return &IDTokens{cfg: cfg, parser: parser}
}

func googleIssuer(project string) string { return "https://securetoken.google.com/" + project }

// VerifyIDToken checks the token itself, with no call to Firebase Auth (Google's keys are cached).
func (v *IDTokens) VerifyIDToken(ctx context.Context, token string) (*fbauth.Token, error) {
	claims := jwt.MapClaims{}
	var keyErr error
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := v.cfg.Keys.Key(ctx, kid)
		if errors.Is(err, errKeysUnavailable) {
			keyErr = err
		}
		return k, err
	})
	switch {
	case keyErr != nil:
		return nil, keyErr
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: %v", ErrTokenExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	return v.decode(claims)
}

// decode checks what the parser does not (subject, iat and auth_time present and not in the
// future) and converts the claims to the Admin SDK's Token, as the server reads it.
func (v *IDTokens) decode(claims jwt.MapClaims) (*fbauth.Token, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" || len(sub) > maxUIDLength {
		return nil, fmt.Errorf("%w: the subject must be a uid of 1 to %d characters", ErrTokenInvalid, maxUIDLength)
	}
	iat, _ := claims.GetIssuedAt()
	authTime, _ := numericClaim(claims, "auth_time")
	latest := v.cfg.Now().Add(leeway)
	if iat == nil || authTime == nil || authTime.After(latest) || authTime.After(iat.Time) {
		return nil, fmt.Errorf("%w: iat and auth_time must be present, and sign-in must precede issue", ErrTokenInvalid)
	}
	exp, _ := claims.GetExpirationTime()
	t := &fbauth.Token{
		AuthTime: authTime.Unix(), Issuer: googleIssuer(v.cfg.Project), Audience: v.cfg.Project,
		Expires: exp.Unix(), IssuedAt: iat.Unix(), Subject: sub, UID: sub,
	}
	if fb, ok := claims["firebase"].(map[string]any); ok {
		t.Firebase.SignInProvider, _ = fb["sign_in_provider"].(string)
		t.Firebase.Tenant, _ = fb["tenant"].(string)
		t.Firebase.Identities, _ = fb["identities"].(map[string]any)
	}
	// Like the Admin SDK: Claims are the token's claims but the registered ones.
	t.Claims = maps.Clone(map[string]any(claims))
	for _, k := range []string{"iss", "aud", "exp", "iat", "sub", "uid"} {
		delete(t.Claims, k)
	}
	return t, nil
}

func numericClaim(claims jwt.MapClaims, name string) (*jwt.NumericDate, error) {
	f, ok := claims[name].(float64)
	if !ok {
		return nil, fmt.Errorf("no %s", name)
	}
	return jwt.NewNumericDate(time.Unix(int64(f), 0)), nil
}

// VerifyIDTokenAndCheckRevoked also asks Firebase Auth about the user (one call): refused when the
// user was deleted or disabled, or signed in before their tokens were revoked (tokensValidAfterTime;
// `tenantry admin` revokes them when it changes a platform role).
func (v *IDTokens) VerifyIDTokenAndCheckRevoked(ctx context.Context, token string) (*fbauth.Token, error) {
	t, err := v.VerifyIDToken(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := v.cfg.Users.GetUser(ctx, t.UID)
	switch {
	case fbauth.IsUserNotFound(err):
		return nil, ErrUserNotFound
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrUsersUnavailable, err)
	case u.Disabled:
		return nil, ErrUserDisabled
	case t.AuthTime*1000 < u.TokensValidAfterMillis:
		// auth_time, not iat: a token refreshed after the revocation from a sign-in before it is
		// revoked too (auth_time <= iat, so this is the stricter of the two).
		return nil, ErrTokenRevoked
	}
	return t, nil
}
