package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	"github.com/tenantry/tenantry/internal/identity"
)

// OnUserDelete frees what a user Firebase Auth has just deleted held: their memberships (seats
// freed; a tenant they owned is flagged ownerless and its admins emailed) and the pending
// invitations to their address. Deploy it as a 1st-gen background function:
//
//	gcloud functions deploy OnUserDelete --no-gen2 --runtime go126 --entry-point OnUserDelete \
//	  --trigger-event providers/firebase.auth/eventTypes/user.delete \
//	  --trigger-resource "$GOOGLE_CLOUD_PROJECT" --retry
//
// (cloudfunctions.go re-exports it). The event is not trusted alone: Firebase Auth must answer
// that the user does not exist (identity.Deletions), so an event about a live user changes
// nothing and is not retried. Delivery is at least once; a second delivery finds nothing left
// and changes nothing. The job sweep-deleted-users catches a missed event.
func OnUserDelete(ctx context.Context, u AuthUserRecord) error {
	a, err := App(ctx)
	if err != nil {
		return fmt.Errorf("start Tenantry: %w", err)
	}
	res, err := a.Deletions.OnDeleted(ctx, u.UID, u.Email)
	switch {
	case errors.Is(err, identity.ErrUserExists):
		slog.WarnContext(ctx, "user.delete: Firebase Auth still has the user; nothing removed", "uid", u.UID)
		return nil
	case err != nil:
		slog.ErrorContext(ctx, "user.delete: failed; the event is retried", "uid", u.UID, "error", err.Error())
		return err
	}
	slog.InfoContext(ctx, "user.delete: forgotten", "uid", u.UID, "memberships", res.Memberships, "invitations", res.Invitations, "ownerless", len(res.Ownerless))
	return nil
}

func init() {
	// Served at /OnUserDelete by the functions framework when FUNCTION_TARGET is unset (local runs).
	if err := funcframework.RegisterEventFunctionContext(context.Background(), "/OnUserDelete", OnUserDelete); err != nil {
		panic(fmt.Sprintf("register OnUserDelete: %v", err))
	}
}
