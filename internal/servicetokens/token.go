// Package servicetokens is the domain of tenant-scoped service tokens (`tnt_…`), with which an
// integration (a data migration, say) calls the API for one tenant within the token's scopes:
// owners and admins create, list and revoke them, and every request that carries one is
// authenticated here against Firestore, so a revoked or expired token stops working at once on
// every replica. Only a hash of a token's secret is stored.
package servicetokens

import (
	"crypto/rand"
	"crypto/subtle"
	"slices"
	"strings"
	"time"

	"github.com/tenantry/tenantry/internal/tenancy"
)

// Scopes a token may be granted.
const (
	// ScopeImport lets a token import records (importRecords), dry runs included.
	ScopeImport = "import"
	// ScopeValidate is read-only: importRecords with dryRun only, which checks records against
	// the schema, the references and the documents already there, and writes none.
	ScopeValidate = "validate"
	// ScopeMembers lets a token invite people in bulk (importMembers), as a role no higher than
	// manager: inviting is a different power from writing data, so the import scope does not
	// include it.
	ScopeMembers = "members"
)

// Scopes lists every scope, in the order help texts give them.
var Scopes = []string{ScopeImport, ScopeValidate, ScopeMembers}

// Operations is the service tokens' row of the actors table: the API operations (GraphQL root
// fields) a service token may call, each with the scopes that open it (any one of them). Every
// other operation is refused to a service token (FORBIDDEN), whatever its scopes; the domain
// checks the scope again.
var Operations = map[string][]string{
	"importRecords": {ScopeImport, ScopeValidate},
	"importMembers": {ScopeMembers},
}

// Prefix starts every service token, so that it is told apart from a Firebase ID token (a JWT)
// in the same Authorization header, and found by secret scanners.
const Prefix = "tnt_"

// idLength is the length of a token id: rand.Text, 26 characters of base32 (A-Z, 2-7).
const idLength = 26

// secretLength is the length of a token's secret: 32 random bytes in unpadded base64url.
const secretLength = 43

// Token is a service token as stored: everything but its secret, of which only the hash is kept.
type Token struct {
	ID        string
	TenantID  string
	Name      string
	Scopes    []string
	CreatedAt time.Time
	CreatedBy string // the uid of the owner or admin who created it
	// ExpiresAt, LastUsedAt and RevokedAt are zero when unset.
	ExpiresAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
	RevokedBy  string
	// SecretHash is the hex SHA-256 of the secret.
	SecretHash string
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// ExpiredAt reports whether the token has expired at now.
func (t Token) ExpiredAt(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// newSecret returns a new token id and secret, and the bearer token that carries both:
// "tnt_<id>_<secret>". The id lets a request's token be found with one point read; the secret
// (256 random bits) is what proves it.
func newSecret() (id, secret, bearer string, err error) {
	secret, err = tenancy.NewInvitationToken() // 32 bytes from crypto/rand, base64url
	if err != nil {
		return "", "", "", err
	}
	id = rand.Text()
	return id, secret, Prefix + id + "_" + secret, nil
}

// hashSecret is what is stored of a secret: its hex SHA-256. A 256-bit random secret needs no
// salt or slow hash.
func hashSecret(secret string) string { return tenancy.HashInvitationToken(secret) }

// parseBearer splits a bearer token into its id and secret; ok is false when it does not have
// the shape newSecret gives.
func parseBearer(bearer string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(bearer, Prefix)
	if !found || len(rest) != idLength+1+secretLength || rest[idLength] != '_' {
		return "", "", false
	}
	id, secret = rest[:idLength], rest[idLength+1:]
	for _, c := range id {
		if !('A' <= c && c <= 'Z' || '2' <= c && c <= '7') {
			return "", "", false
		}
	}
	for _, c := range secret {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return "", "", false
		}
	}
	return id, secret, true
}

// secretMatches compares a presented secret with the stored hash in constant time.
func secretMatches(secret, storedHash string) bool {
	return subtle.ConstantTimeCompare([]byte(hashSecret(secret)), []byte(storedHash)) == 1
}

// IsScope reports whether s is a known scope.
func IsScope(s string) bool { return slices.Contains(Scopes, s) }
