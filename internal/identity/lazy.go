package identity

import (
	"context"
	"sync"

	"github.com/tenantry/tenantry/internal/auth"
	"github.com/tenantry/tenantry/internal/members"
)

// maxCached bounds the per-process memory of users already covered; past it the cache starts
// over, which costs each user one document read on their next request.
const maxCached = 100_000

// Lazy runs the signup logic on a user's first authenticated request, for deployments without the
// blocking functions or the background function (and as their safety net). A user is covered
// once OnSignup ran with the email verification status the token has now; that is remembered in
// memory per process, so a covered user costs one users/{uid} read per process, and then nothing.
type Lazy struct {
	signup Signup

	mu       sync.Mutex
	covered  map[string]bool // uid -> covered with a verified email
	inflight map[string]chan struct{}
}

// NewLazy builds the hook.
func NewLazy(signup Signup) *Lazy {
	return &Lazy{signup: signup, covered: map[string]bool{}, inflight: map[string]chan struct{}{}}
}

// Ensure runs the signup logic for p unless it has already covered p's current verification
// status. Concurrent first requests of one user run it once; the others wait for it.
func (l *Lazy) Ensure(ctx context.Context, p auth.Principal) error {
	u := members.User{UID: p.UID, Email: p.Email, EmailVerified: p.EmailVerified}
	for {
		l.mu.Lock()
		if v, ok := l.covered[u.UID]; ok && (v || !u.EmailVerified) {
			l.mu.Unlock()
			return nil
		}
		ch, busy := l.inflight[u.UID]
		if !busy {
			ch = make(chan struct{})
			l.inflight[u.UID] = ch
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := l.run(ctx, u)
	l.mu.Lock()
	if err == nil {
		if len(l.covered) >= maxCached {
			l.covered = map[string]bool{}
		}
		l.covered[u.UID] = u.EmailVerified
	}
	close(l.inflight[u.UID])
	delete(l.inflight, u.UID)
	l.mu.Unlock()
	return err
}

func (l *Lazy) run(ctx context.Context, u members.User) error {
	needed, err := l.signup.SignupNeeded(ctx, u)
	if err != nil || !needed {
		return err
	}
	_, err = l.signup.OnSignup(ctx, u)
	return err
}
