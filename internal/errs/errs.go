// Package errs holds the domain's sentinel errors. The API's one error presenter maps each
// sentinel to the contract's extensions.code with errors.Is, and shows the user only this
// package's text: the sentinel's own, an Invalid field's reason, or a Detail's message. Text
// wrapped around them (fmt.Errorf("...: %w", err)) is never shown, so it may carry internals for
// the logs; a case that needs its own words for the user uses Detail or Invalid. Anything that
// wraps none of the sentinels is internal.
package errs

import (
	"errors"
	"fmt"
)

// Sentinels, one per contract error code. Their own text is the message shown when neither
// Invalid nor Detail gives one.
var (
	ErrUnauthenticated        = errors.New("sign in again: the token is missing, expired, revoked or invalid")
	ErrForbidden              = errors.New("your role does not allow this action; ask an owner or admin of the organization")
	ErrNotFound               = errors.New("not found; check the id, or ask an owner of the organization to invite you")
	ErrInvalidInput           = errors.New("invalid input")
	ErrIdempotencyKeyReused   = errors.New("this idempotency key was already used with different parameters; generate a new key for a new request")
	ErrSubdomainTaken         = errors.New("that subdomain belongs to another organization; choose another one")
	ErrTenantReadOnly         = errors.New("the organization is read-only until its billing is settled; an owner can upgrade or update payment")
	ErrTenantSuspended        = errors.New("the organization is not available; contact support")
	ErrSeatLimitReached       = errors.New("all seats are taken; remove a member, revoke an invitation or upgrade the plan")
	ErrInvitationLimitReached = errors.New("the plan's limit on pending invitations is reached; revoke an invitation or wait for one to be accepted")
	ErrInvalidTransition      = errors.New("the organization's lifecycle does not allow that status change")
	ErrRateLimited            = errors.New("too many requests; wait a minute and try again")
	ErrDomainTaken            = errors.New("another organization has claimed that domain; if it is yours, ask that organization to remove it, or contact support")
)

// ValidationError reports one invalid input field. It matches ErrInvalidInput with errors.Is.
type ValidationError struct {
	Field  string // the input field's name as the client sent it, e.g. "subdomain"
	Reason string // user-safe, says what a valid value looks like
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalidInput) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidInput }

// Invalid builds a ValidationError.
func Invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Field returns the offending field of a validation error, or "".
func Field(err error) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Field
	}
	return ""
}

// DetailedError is a sentinel with a message written for this one case ("an active organization
// cannot go back to trial; ..."), where the sentinel's general text would not tell the user what
// to do next. It matches its sentinel with errors.Is, and the API shows Message.
type DetailedError struct {
	Sentinel error
	Message  string // user-safe: it is shown to the caller as is
}

func (e *DetailedError) Error() string { return e.Message }

// Unwrap makes errors.Is(err, e.Sentinel) true.
func (e *DetailedError) Unwrap() error { return e.Sentinel }

// Detail builds a DetailedError; format and args must produce user-safe text.
func Detail(sentinel error, format string, args ...any) error {
	return &DetailedError{Sentinel: sentinel, Message: fmt.Sprintf(format, args...)}
}
