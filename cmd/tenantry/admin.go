package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os/signal"
	"strings"
	"syscall"
	"time"

	firebase "firebase.google.com/go/v4"
	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/validate"
)

const adminUsage = `usage:
  tenantry admin grant-platform-role --email EMAIL --role ROLE
  tenantry admin revoke-platform-role --email EMAIL
  tenantry admin reindex-search

ROLE is one of super_admin, sales, support (the GraphQL spelling SUPER_ADMIN, SALES, SUPPORT works too):
  sales        provisions contract tenants, converts evaluation tenants, extends trials
  support      reads every tenant and its audit log, suspends tenants and lifts suspensions
  super_admin  everything

The role is the Firebase custom claim platformRole; the user's other claims are kept. The user's
refresh tokens are revoked so the change applies at once: they must sign in again. A role is
granted only to an account whose email address is verified and, when TENANTRY_STAFF_DOMAINS is
set, at one of those domains; the server ignores it on any other account.

reindex-search writes the staff search tokens (tenants(filter: {search})) of every tenant that
lacks them or has stale ones, e.g. tenants provisioned before staff search existed, into the
tenant's staff record (tenants/{id}/private/staff). It also moves the staff-only fields older
versions kept on the tenant document, which every member can read (createdBy, searchTokens,
contract.reference, contract.provisionedBy), into that record: run it once after upgrading. It is
safe to run again and next to live traffic.
`

// authAdmin is the part of the Firebase Admin SDK's Auth client the admin commands use.
type authAdmin interface {
	GetUserByEmail(ctx context.Context, email string) (*fbauth.UserRecord, error)
	SetCustomUserClaims(ctx context.Context, uid string, claims map[string]any) error
	RevokeRefreshTokens(ctx context.Context, uid string) error
}

func adminCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	sub := args[0]
	switch sub {
	case "grant-platform-role", "revoke-platform-role":
	case "reindex-search":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "tenantry admin reindex-search: takes no arguments\n%s", adminUsage)
			return 2
		}
		return reindexSearch(stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "tenantry admin: unknown subcommand %q\n%s", sub, adminUsage)
		return 2
	}
	fset := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fset.SetOutput(stderr)
	emailFlag := fset.String("email", "", "the user's email address")
	roleFlag := fset.String("role", "", "grant-platform-role: one of "+platformRoleList())
	if err := fset.Parse(args[1:]); err != nil {
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "tenantry admin %s: unexpected argument %q\n%s", sub, fset.Arg(0), adminUsage)
		return 2
	}
	email, err := validate.Email(*emailFlag)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry admin %s: give the user's email address with --email, e.g. --email ada@example.com\n", sub)
		return 2
	}
	var role auth.PlatformRole
	if sub == "grant-platform-role" {
		if role = parseRoleFlag(*roleFlag); role == auth.PlatformNone {
			fmt.Fprintf(stderr, "tenantry admin grant-platform-role: unknown role %q; use --role with one of %s\n", *roleFlag, platformRoleList())
			return 2
		}
	} else if *roleFlag != "" {
		fmt.Fprintln(stderr, "tenantry admin revoke-platform-role: takes no --role; it removes whatever platform role the user has")
		return 2
	}

	cfg, ok := load(stderr)
	if !ok {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	fb, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: cfg.Project})
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: initialise Firebase for project %q: %v (check GOOGLE_CLOUD_PROJECT and credentials)\n", cfg.Project, err)
		return 1
	}
	client, err := fb.Auth(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tenantry: initialise Firebase Auth: %v (check credentials, or FIREBASE_AUTH_EMULATOR_HOST locally)\n", err)
		return 1
	}
	staff, err := cfg.StaffPolicy()
	if err != nil { // config.Validate has checked it already
		fmt.Fprintf(stderr, "tenantry: TENANTRY_STAFF_DOMAINS: %v\n", err)
		return 2
	}
	if err := setPlatformRole(ctx, client, staff, email, role, stdout); err != nil {
		fmt.Fprintf(stderr, "tenantry admin %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// reindexSearch runs tenancy.ReindexSearch with the app's wiring, printing progress.
func reindexSearch(stdout, stderr io.Writer) int {
	return withApp(stderr, nil, func(ctx context.Context, _ config.Config, a *app.App) int {
		return reindexWith(ctx, a, stdout, stderr)
	})
}

func reindexWith(ctx context.Context, a *app.App, stdout, stderr io.Writer) int {
	scanned, updated, err := a.Tenancy.ReindexSearch(ctx, func(scanned, updated int) {
		fmt.Fprintf(stdout, "%d tenants scanned, %d updated so far\n", scanned, updated)
	})
	if err != nil {
		fmt.Fprintf(stderr, "tenantry admin reindex-search: %v; run it again, it continues where tokens are still missing\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Done: %d tenants scanned, %d updated.\n", scanned, updated)
	return 0
}

// platformRoleList spells auth.PlatformRoles for help texts: "super_admin, sales, support".
func platformRoleList() string {
	names := make([]string, len(auth.PlatformRoles))
	for i, r := range auth.PlatformRoles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// parseRoleFlag accepts a platform role in the claim's spelling or the GraphQL enum's.
func parseRoleFlag(s string) auth.PlatformRole {
	return auth.ParsePlatformRole(strings.ToLower(strings.TrimSpace(s)))
}

// errNoSuchUser says the email belongs to no user.
var errNoSuchUser = errors.New("no such user")

// setPlatformRole sets (role != "") or removes (role == "") the platformRole claim of the user
// with email, keeping their other claims, then revokes their refresh tokens: a custom claim
// reaches the ID token only when a new one is issued, and revoking both forces that and ends
// the old role at once (the server checks staff tokens for revocation on every request). A role
// is granted only to an account the staff policy admits, as the server would (removing one always
// works).
func setPlatformRole(ctx context.Context, client authAdmin, staff auth.StaffPolicy, email string, role auth.PlatformRole, out io.Writer) error {
	u, err := client.GetUserByEmail(ctx, email)
	if err != nil {
		if fbauth.IsUserNotFound(err) {
			return fmt.Errorf("%w: no user has the email %s; check the spelling, or ask them to sign up first", errNoSuchUser, email)
		}
		return fmt.Errorf("look up %s: %w", email, err)
	}
	if role != auth.PlatformNone {
		if err := admitStaff(staff, u); err != nil {
			return err
		}
	}
	claims := maps.Clone(u.CustomClaims)
	if claims == nil {
		claims = map[string]any{}
	}
	prev := auth.PlatformNone
	if s, ok := claims[auth.PlatformRoleClaim].(string); ok {
		prev = auth.ParsePlatformRole(s)
	}
	if _, present := claims[auth.PlatformRoleClaim]; !present && role == auth.PlatformNone {
		fmt.Fprintf(out, "%s (uid %s) has no platform role; nothing changed.\n", email, u.UID)
		return nil
	}
	if prev == role && role != auth.PlatformNone {
		fmt.Fprintf(out, "%s (uid %s) already has the platform role %s; nothing changed.\n", email, u.UID, role)
		return nil
	}
	if role == auth.PlatformNone {
		delete(claims, auth.PlatformRoleClaim)
	} else {
		claims[auth.PlatformRoleClaim] = string(role)
	}
	if err := client.SetCustomUserClaims(ctx, u.UID, claims); err != nil {
		return fmt.Errorf("set the custom claims of %s: %w; nothing changed, run the command again", email, err)
	}
	switch {
	case role == auth.PlatformNone:
		fmt.Fprintf(out, "Removed the platform role %s from %s (uid %s).\n", displayRole(prev), email, u.UID)
	case prev == auth.PlatformNone:
		fmt.Fprintf(out, "Granted the platform role %s to %s (uid %s).\n", role, email, u.UID)
	default:
		fmt.Fprintf(out, "Changed the platform role of %s (uid %s) from %s to %s.\n", email, u.UID, prev, role)
	}
	if err := client.RevokeRefreshTokens(ctx, u.UID); err != nil {
		return fmt.Errorf("the claim is set, but revoking the refresh tokens of %s failed: %w; run the command again so the change applies at once (until then it applies when their ID token is renewed, within an hour)", email, err)
	}
	fmt.Fprintf(out, "Revoked their refresh tokens, so the change applies now: %s must sign in again (in the playground, sign in and paste the new ID token) to get a token that carries it.\n", email)
	return nil
}

// errNotAdmitted says the account may not hold a platform role.
var errNotAdmitted = errors.New("refused")

// admitStaff explains, with what to do next, why the staff policy refuses u a platform role.
func admitStaff(staff auth.StaffPolicy, u *fbauth.UserRecord) error {
	switch err := staff.Admit(u.Email, u.EmailVerified); {
	case errors.Is(err, auth.ErrStaffEmailUnverified):
		return fmt.Errorf("%w: %s (uid %s) has not verified their email address, and a platform role needs a verified one (anyone can sign up with any address); ask them to verify it (the link in the verification email, or sign in with Google), then run this command again; nothing changed", errNotAdmitted, u.Email, u.UID)
	case errors.Is(err, auth.ErrStaffDomain):
		return fmt.Errorf("%w: %s is not at a staff domain (TENANTRY_STAFF_DOMAINS: %s); grant the role to their account at one of those domains; nothing changed", errNotAdmitted, u.Email, strings.Join(staff.Domains(), ", "))
	case err != nil:
		return fmt.Errorf("%w: %v; nothing changed", errNotAdmitted, err)
	}
	return nil
}

// displayRole names a claim value that may not be a known role.
func displayRole(r auth.PlatformRole) string {
	if r == auth.PlatformNone {
		return "(unknown value)"
	}
	return string(r)
}
