package identity

import (
	"context"
	"errors"
	"fmt"

	fbauth "firebase.google.com/go/v4/auth"

	"github.com/tenantry/tenantry/internal/members"
)

// AuthUsers is what the deletion adapters ask Firebase Auth (an *auth.Client): one user, and up
// to 100 at once.
type AuthUsers interface {
	Users
	GetUsers(ctx context.Context, identifiers []fbauth.UserIdentifier) (*fbauth.GetUsersResult, error)
}

// Forgetter is the members domain's side of a deleted user (members.Service).
type Forgetter interface {
	ForgetUser(ctx context.Context, uid, email string) (members.ForgetResult, error)
	SweepDeletedUsers(ctx context.Context, gone members.GoneUsers, progress func(members.SweepResult)) (members.SweepResult, error)
}

// ErrUserExists refuses a deletion event for a user Firebase Auth still has.
var ErrUserExists = errors.New("firebase auth still has this user")

// Deletions frees what deleted Firebase users held, reached two ways: the Auth user.delete
// background event (functions.OnUserDelete) and, as its safety net, the sweep-deleted-users job
// (the lazy path: it finds users/ documents whose Auth user is gone). Neither trusts its input:
// a user is forgotten only once Firebase Auth itself (the Auth emulator, in development) answers
// that it has no such user, so a forged or replayed event for a live user changes nothing, in
// production and in the emulator alike.
type Deletions struct {
	users  AuthUsers
	forget Forgetter
}

// NewDeletions builds the adapters.
func NewDeletions(users AuthUsers, forget Forgetter) *Deletions {
	return &Deletions{users: users, forget: forget}
}

// OnDeleted handles a user.delete event about uid (email as the event gives it, "" if none).
// It returns ErrUserExists when Auth still has the user, and ErrUsersUnavailable when Auth
// cannot be asked (the event should then be retried).
func (d *Deletions) OnDeleted(ctx context.Context, uid, email string) (members.ForgetResult, error) {
	_, err := d.users.GetUser(ctx, uid)
	switch {
	case err == nil:
		return members.ForgetResult{}, ErrUserExists
	case !fbauth.IsUserNotFound(err):
		return members.ForgetResult{}, fmt.Errorf("%w: %v", ErrUsersUnavailable, err)
	}
	return d.forget.ForgetUser(ctx, uid, email)
}

// Sweep runs the lazy path over every users/ document (job sweep-deleted-users).
func (d *Deletions) Sweep(ctx context.Context, progress func(members.SweepResult)) (members.SweepResult, error) {
	return d.forget.SweepDeletedUsers(ctx, d.gone, progress)
}

// gone asks Auth about uids (at most 100) in one call and returns those it does not have.
func (d *Deletions) gone(ctx context.Context, uids []string) ([]string, error) {
	ids := make([]fbauth.UserIdentifier, len(uids))
	for i, u := range uids {
		ids[i] = fbauth.UIDIdentifier{UID: u}
	}
	res, err := d.users.GetUsers(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsersUnavailable, err)
	}
	out := make([]string, 0, len(res.NotFound))
	for _, nf := range res.NotFound {
		if u, ok := nf.(fbauth.UIDIdentifier); ok {
			out = append(out, u.UID)
		}
	}
	return out, nil
}
