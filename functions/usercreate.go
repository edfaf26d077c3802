package functions

// The signup logic's background-function entry point. (The job expire-invitations has its HTTP
// entry point, ExpireInvitations, in functions.go with the other jobs.)

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/tenantry/tenantry/internal/members"
)

// AuthUserRecord is the payload of the 1st-gen trigger providers/firebase.auth/eventTypes/user.create:
// the new user's record (fields Tenantry does not need are left out).
type AuthUserRecord struct {
	UID           string `json:"uid"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"emailVerified"`
}

// OnUserCreate runs the signup logic for a user Firebase Auth has just created. Deploy it as a
// 1st-gen background function:
//
//	gcloud functions deploy OnUserCreate --no-gen2 --runtime go126 --entry-point OnUserCreate \
//	  --trigger-event providers/firebase.auth/eventTypes/user.create \
//	  --trigger-resource "$GOOGLE_CLOUD_PROJECT" --retry
//
// (the Go buildpack deploys the module root, whose cloudfunctions.go must re-export it:
// `func OnUserCreate(ctx context.Context, u functions.AuthUserRecord) error { return functions.OnUserCreate(ctx, u) }`).
// Delivery is at least once, and with --retry a failure is delivered again: OnSignup is idempotent,
// so a replayed event finds its invitations accepted and changes nothing. The trigger fires for
// every new user, including users created with the Admin SDK, whom the blocking functions never
// see. An email that is not verified yet accepts nothing here; the next sign-in (beforeSignIn) or
// the first request after verification does.
func OnUserCreate(ctx context.Context, u AuthUserRecord) error {
	a, err := App(ctx)
	if err != nil {
		return fmt.Errorf("start Tenantry: %w", err)
	}
	res, err := a.Members.OnSignup(ctx, members.User{UID: u.UID, Email: u.Email, EmailVerified: u.EmailVerified})
	if err != nil {
		slog.ErrorContext(ctx, "user.create: signup logic failed; the event is retried", "uid", u.UID, "error", err.Error())
		return err
	}
	slog.InfoContext(ctx, "user.create: signup", "uid", u.UID, "verified", u.EmailVerified, "accepted", len(res.Accepted), "skipped", res.Skipped)
	return nil
}

func init() {
	// Served at /OnUserCreate by the functions framework when FUNCTION_TARGET is unset (local runs).
	if err := funcframework.RegisterEventFunctionContext(context.Background(), "/OnUserCreate", OnUserCreate); err != nil {
		panic(fmt.Sprintf("register OnUserCreate: %v", err))
	}
}
