package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
	"github.com/tenantry/tenantry/internal/identity"
)

// TokenVerifier checks Firebase ID tokens: *auth.Client of the Firebase Admin SDK against the
// Auth emulator, identity.IDTokens in production.
type TokenVerifier interface {
	VerifyIDToken(ctx context.Context, idToken string) (*fbauth.Token, error)
	VerifyIDTokenAndCheckRevoked(ctx context.Context, idToken string) (*fbauth.Token, error)
}

// authenticator says how bearer tokens are checked.
type authenticator struct {
	verifier TokenVerifier
	// emulator says verifier talks to the Auth emulator: the Admin SDK then checks revocation and
	// disabled users on every verification (so no recheck is needed) but no signature at all (so
	// only unsigned tokens are let through).
	emulator bool
	staff    auth.StaffPolicy // which accounts a platform role gives power to
	services ServiceAuthenticator
}

// servicePrefix starts a service token (servicetokens.Prefix); a Firebase ID token, a JWT,
// never does.
const servicePrefix = "tnt_"

// ServiceAuthenticator checks service tokens (servicetokens.Service): the service caller, or
// errs.ErrUnauthenticated, errs.ErrRateLimited or another error.
type ServiceAuthenticator interface {
	Authenticate(ctx context.Context, bearer string) (auth.Service, error)
}

// authenticateService checks a service token and returns its caller, or answers the request and
// returns false. The token is never logged or repeated.
func (a authenticator) authenticateService(w http.ResponseWriter, r *http.Request, token string) (auth.Service, bool) {
	if a.services == nil {
		writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Service tokens are not accepted by this server; sign in with a Firebase ID token.")
		return auth.Service{}, false
	}
	svc, err := a.services.Authenticate(r.Context(), token)
	if err == nil {
		return svc, true
	}
	switch code := CodeOf(err); code {
	case CodeUnauthenticated:
		writeError(w, http.StatusUnauthorized, code, publicMessage(err))
	case CodeRateLimited:
		writeError(w, http.StatusTooManyRequests, code, publicMessage(err))
	default:
		slog.ErrorContext(r.Context(), "service token could not be checked", "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, CodeInternal, "Your service token could not be checked right now; try again in a moment.")
	}
	return auth.Service{}, false
}

// withAuthentication verifies the bearer token, if any, and puts the Principal into the context.
// No header means anonymous (resolvers decide what anonymous callers may do); a header that does
// not verify is refused outright with 401, whatever the operation.
func withAuthentication(a authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, _ := strings.Cut(header, " ")
		token = strings.TrimSpace(token)
		if !strings.EqualFold(scheme, "Bearer") || token == "" { // RFC 7235: the scheme is case-insensitive
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Send the Firebase ID token as 'Authorization: Bearer <token>'.")
			return
		}
		if strings.HasPrefix(token, servicePrefix) {
			svc, ok := a.authenticateService(w, r, token)
			if !ok {
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithService(r.Context(), svc)))
			return
		}
		p, ok := a.authenticate(w, r, token)
		if !ok {
			return
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		if !a.emulator {
			ctx = auth.WithRecheck(ctx, func(ctx context.Context) error {
				if _, err := a.verifier.VerifyIDTokenAndCheckRevoked(ctx, token); err != nil {
					slog.InfoContext(ctx, "ID token refused on recheck", "reason", tokenErrorKind(err), "uid", p.UID)
					return errs.ErrUnauthenticated
				}
				return nil
			})
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// authenticate verifies token and returns its principal, or answers the request and returns false.
func (a authenticator) authenticate(w http.ResponseWriter, r *http.Request, token string) (auth.Principal, bool) {
	ctx := r.Context()
	if a.emulator && !isUnsignedEmulatorToken(token) {
		// Against the emulator the Admin SDK skips signature checks, so a JWT signed by anyone
		// would pass; the emulator itself only issues unsigned tokens.
		slog.InfoContext(ctx, "ID token refused", "reason", "signed_token_in_emulator_mode")
		writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Your sign-in is invalid or has expired; sign in again to get a fresh ID token.")
		return auth.Principal{}, false
	}
	decoded, err := a.verifier.VerifyIDToken(ctx, token)
	if err != nil {
		refuseToken(w, r, "ID token", err, "Your sign-in is invalid or has expired; sign in again to get a fresh ID token.")
		return auth.Principal{}, false
	}
	p := principalFrom(ctx, decoded, a.staff)
	if !a.emulator && p.PlatformRole != auth.PlatformNone {
		// A platform role opens every tenant, so a staff token is checked for revocation on
		// every request (one call to Firebase Auth; staff are few): `tenantry admin
		// revoke-platform-role` revokes the user's tokens, and the role must end at once, not
		// when the ID token expires up to an hour later.
		if _, err := a.verifier.VerifyIDTokenAndCheckRevoked(ctx, token); err != nil {
			refuseToken(w, r, "staff ID token", err, "Your sign-in was revoked or has expired; sign in again to get a fresh ID token.")
			return auth.Principal{}, false
		}
	}
	return p, true
}

// refuseToken answers a token that did not verify: 503 when the identity provider or its keys
// could not be reached (not the caller's fault), else 401. The token itself is never logged.
func refuseToken(w http.ResponseWriter, r *http.Request, what string, err error, message string) {
	kind := tokenErrorKind(err)
	if kind == "unverifiable" {
		slog.ErrorContext(r.Context(), what+" could not be verified", "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, CodeInternal, "Your sign-in could not be checked right now; try again in a moment.")
		return
	}
	slog.InfoContext(r.Context(), what+" refused", "reason", kind)
	writeError(w, http.StatusUnauthorized, CodeUnauthenticated, message)
}

// principalFrom builds the caller from a verified token. This is the one place that decides staff
// power: a platformRole claim counts only on an account the staff policy admits (a verified email,
// at a staff domain when those are configured), so a claim on any other account is ignored.
func principalFrom(ctx context.Context, t *fbauth.Token, staff auth.StaffPolicy) auth.Principal {
	p := auth.Principal{UID: t.UID}
	if s, ok := t.Claims["email"].(string); ok {
		p.Email = strings.ToLower(s)
	}
	if b, ok := t.Claims["email_verified"].(bool); ok {
		p.EmailVerified = b
	}
	s, _ := t.Claims[auth.PlatformRoleClaim].(string)
	if role := auth.ParsePlatformRole(s); role != auth.PlatformNone {
		if err := staff.Admit(p.Email, p.EmailVerified); err != nil {
			slog.WarnContext(ctx, "platform role ignored", "uid", p.UID, "platformRole", string(role), "reason", err.Error())
		} else {
			p.PlatformRole = role
		}
	}
	return p
}

// tokenErrorKind names why a token was refused, for logs; the token itself is never logged.
func tokenErrorKind(err error) string {
	switch {
	case errors.Is(err, identity.ErrTokenExpired), fbauth.IsIDTokenExpired(err):
		return "expired"
	case errors.Is(err, identity.ErrTokenRevoked), fbauth.IsIDTokenRevoked(err):
		return "revoked"
	case errors.Is(err, identity.ErrUserDisabled), fbauth.IsUserDisabled(err):
		return "user_disabled"
	case errors.Is(err, identity.ErrUserNotFound), fbauth.IsUserNotFound(err):
		return "user_not_found"
	case errors.Is(err, identity.ErrTokenInvalid), fbauth.IsIDTokenInvalid(err):
		return "invalid"
	}
	// Certificates or Firebase Auth unreachable (identity.ErrKeysUnavailable,
	// ErrUsersUnavailable, fbauth.IsCertificateFetchFailed), or anything unforeseen.
	return "unverifiable"
}

// isUnsignedEmulatorToken reports whether a JWT is of the form the Auth emulator issues: header
// alg "none" and an empty signature segment.
func isUnsignedEmulatorToken(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || parts[2] != "" {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(raw, &header) == nil && header.Alg == "none"
}
