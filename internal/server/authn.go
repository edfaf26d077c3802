package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/errs"
)

// TokenVerifier checks Firebase ID tokens; *auth.Client of the Firebase Admin SDK is one.
type TokenVerifier interface {
	VerifyIDToken(ctx context.Context, idToken string) (*fbauth.Token, error)
	VerifyIDTokenAndCheckRevoked(ctx context.Context, idToken string) (*fbauth.Token, error)
}

// withAuthentication verifies the bearer token, if any, and puts the Principal into the context.
// No header means anonymous (resolvers decide what anonymous callers may do); a header that does
// not verify is refused outright with 401, whatever the operation. emulator says v talks to the
// Auth emulator: the Admin SDK then checks revocation and disabled users on every verification
// (so no recheck is needed) but no signature at all (so only unsigned tokens are let through).
func withAuthentication(v TokenVerifier, emulator bool, next http.Handler) http.Handler {
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
		if strings.HasPrefix(token, "tnt_") {
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Service tokens are not accepted by this server version; sign in with a Firebase ID token.")
			return
		}
		if emulator && !isUnsignedEmulatorToken(token) {
			// Against the emulator the Admin SDK skips signature checks, so a JWT signed by anyone
			// would pass; the emulator itself only issues unsigned tokens.
			slog.InfoContext(r.Context(), "ID token refused", "reason", "signed_token_in_emulator_mode")
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Your sign-in is invalid or has expired; sign in again to get a fresh ID token.")
			return
		}
		decoded, err := v.VerifyIDToken(r.Context(), token)
		if err != nil {
			kind := tokenErrorKind(err)
			if kind == "unverifiable" {
				// The identity provider or its keys could not be reached: not the caller's fault.
				slog.ErrorContext(r.Context(), "ID token could not be verified", "error", err.Error())
				writeError(w, http.StatusServiceUnavailable, CodeInternal, "Your sign-in could not be checked right now; try again in a moment.")
				return
			}
			slog.InfoContext(r.Context(), "ID token refused", "reason", kind)
			writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Your sign-in is invalid or has expired; sign in again to get a fresh ID token.")
			return
		}
		p := principalFrom(decoded)
		if !emulator && p.PlatformRole != auth.PlatformNone {
			// A platform role opens every tenant, so a staff token is checked for revocation on
			// every request (one call to Firebase Auth; staff are few): `tenantry admin
			// revoke-platform-role` revokes the user's tokens, and the role must end at once, not
			// when the ID token expires up to an hour later.
			if _, err := v.VerifyIDTokenAndCheckRevoked(r.Context(), token); err != nil {
				kind := tokenErrorKind(err)
				if kind == "unverifiable" {
					slog.ErrorContext(r.Context(), "staff ID token could not be checked for revocation", "error", err.Error())
					writeError(w, http.StatusServiceUnavailable, CodeInternal, "Your sign-in could not be checked right now; try again in a moment.")
					return
				}
				slog.InfoContext(r.Context(), "staff ID token refused", "reason", kind, "uid", p.UID)
				writeError(w, http.StatusUnauthorized, CodeUnauthenticated, "Your sign-in was revoked or has expired; sign in again to get a fresh ID token.")
				return
			}
		}
		ctx := auth.WithPrincipal(r.Context(), p)
		if emulator {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		ctx = auth.WithRecheck(ctx, func(ctx context.Context) error {
			if _, err := v.VerifyIDTokenAndCheckRevoked(ctx, token); err != nil {
				slog.InfoContext(ctx, "ID token refused on recheck", "reason", tokenErrorKind(err), "uid", p.UID)
				return errs.ErrUnauthenticated
			}
			return nil
		})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func principalFrom(t *fbauth.Token) auth.Principal {
	p := auth.Principal{UID: t.UID}
	if s, ok := t.Claims["email"].(string); ok {
		p.Email = strings.ToLower(s)
	}
	if b, ok := t.Claims["email_verified"].(bool); ok {
		p.EmailVerified = b
	}
	if s, ok := t.Claims["platformRole"].(string); ok {
		p.PlatformRole = auth.ParsePlatformRole(s)
	}
	return p
}

// tokenErrorKind names why a token was refused, for logs; the token itself is never logged.
func tokenErrorKind(err error) string {
	switch {
	case fbauth.IsIDTokenExpired(err):
		return "expired"
	case fbauth.IsIDTokenRevoked(err):
		return "revoked"
	case fbauth.IsUserDisabled(err):
		return "user_disabled"
	case fbauth.IsUserNotFound(err):
		return "user_not_found"
	case fbauth.IsIDTokenInvalid(err):
		return "invalid"
	case fbauth.IsCertificateFetchFailed(err):
		return "unverifiable"
	}

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
