package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/tenantry/tenantry/internal/errs"
)

// Contract error codes (extensions.code).
const (
	CodeUnauthenticated        = "UNAUTHENTICATED"
	CodeForbidden              = "FORBIDDEN"
	CodeNotFound               = "NOT_FOUND"
	CodeBadUserInput           = "BAD_USER_INPUT"
	CodeIdempotencyKeyReused   = "IDEMPOTENCY_KEY_REUSED"
	CodeSubdomainTaken         = "SUBDOMAIN_TAKEN"
	CodeTenantReadOnly         = "TENANT_READ_ONLY"
	CodeTenantSuspended        = "TENANT_SUSPENDED"
	CodeSeatLimitReached       = "SEAT_LIMIT_REACHED"
	CodeInvitationLimitReached = "INVITATION_LIMIT_REACHED"
	CodeInvalidTransition      = "INVALID_TRANSITION"
	CodeRateLimited            = "RATE_LIMITED"
	CodeDomainTaken            = "DOMAIN_TAKEN"
	CodeInternal               = "INTERNAL"
)

// errorCodes maps each domain sentinel to its contract code; it is the one place that does.
var errorCodes = []struct {
	err  error
	code string
}{
	{errs.ErrUnauthenticated, CodeUnauthenticated},
	{errs.ErrForbidden, CodeForbidden},
	{errs.ErrNotFound, CodeNotFound},
	{errs.ErrInvalidInput, CodeBadUserInput},
	{errs.ErrIdempotencyKeyReused, CodeIdempotencyKeyReused},
	{errs.ErrSubdomainTaken, CodeSubdomainTaken},
	{errs.ErrTenantReadOnly, CodeTenantReadOnly},
	{errs.ErrTenantSuspended, CodeTenantSuspended},
	{errs.ErrSeatLimitReached, CodeSeatLimitReached},
	{errs.ErrInvitationLimitReached, CodeInvitationLimitReached},
	{errs.ErrInvalidTransition, CodeInvalidTransition},
	{errs.ErrRateLimited, CodeRateLimited},
	{errs.ErrDomainTaken, CodeDomainTaken},
}

// CodeOf returns the contract code of a domain error, or CodeInternal.
func CodeOf(err error) string {
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return CodeInternal
}

// errPanic marks a recovered panic; the presenter answers it as INTERNAL.
var errPanic = errors.New("panic in resolver")

// presentError is the one error presenter. Domain errors keep their user-safe message and get
// their code; errors gqlgen raised about the request itself (parse, validation, variable
// coercion, limits) are BAD_USER_INPUT with gqlgen's code kept in extensions.reason; anything
// else is logged with the request id and answered as INTERNAL without internals.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)

	var original *gqlerror.Error
	if errors.As(err, &original) && original.Err == nil {
		ext := map[string]any{"code": CodeBadUserInput}
		if c, ok := original.Extensions["code"].(string); ok && c != "" {
			ext["reason"] = c
		}
		gerr.Extensions = ext
		return gerr
	}

	code := CodeOf(err)
	if code == CodeInternal && isArgumentError(ctx, original) {
		// gqlgen could not coerce an argument (an enum value it does not know, say): the
		// request's fault, named by the input path it reports.
		gerr.Message = original.Err.Error()
		gerr.Extensions = map[string]any{"code": CodeBadUserInput}
		if name := lastPathName(original.Path); name != "" {
			gerr.Extensions["field"] = name
			gerr.Message = name + ": " + gerr.Message
		}
		return gerr
	}
	if code == CodeInternal {
		reqID := RequestID(ctx)
		if !errors.Is(err, errPanic) { // panics were logged with their stack by the recover func
			slog.ErrorContext(ctx, "internal error in GraphQL operation", "error", err.Error(), "path", gerr.Path.String())
		}
		gerr.Message = "Something went wrong on our side. Try again; if it keeps failing, contact support and quote request id " + reqID + "."
		gerr.Extensions = map[string]any{"code": CodeInternal, "requestId": reqID}
		return gerr
	}
	gerr.Message = publicMessage(err)
	gerr.Extensions = map[string]any{"code": code}
	if f := errs.Field(err); f != "" {
		gerr.Extensions["field"] = f
	}
	return gerr
}

// publicMessage is the domain error's own text: a validation error's or errs.Detail's message,
// else the sentinel's, never the wrapping text (which may carry internals).
func publicMessage(err error) string {
	var ve *errs.ValidationError
	if errors.As(err, &ve) {
		return ve.Error()
	}
	var de *errs.DetailedError
	if errors.As(err, &de) {
		return de.Message
	}
	for _, m := range errorCodes {
		if errors.Is(err, m.err) {
			return m.err.Error()
		}
	}
	return err.Error()
}

// recoverPanic turns a resolver panic into an INTERNAL error and logs it with its stack.
func recoverPanic(ctx context.Context, rec any) error {
	slog.ErrorContext(ctx, "panic in GraphQL resolver", "panic", rec, "stack", stack())
	return errPanic
}

// isArgumentError reports whether err arose while gqlgen coerced a field's arguments: the field's
// arguments are not parsed yet and the error's path runs past the field into the input.
func isArgumentError(ctx context.Context, err *gqlerror.Error) bool {
	if err == nil || err.Err == nil || !graphql.HasOperationContext(ctx) {
		return false
	}
	fc := graphql.GetFieldContext(ctx)
	return fc != nil && fc.Args == nil && len(err.Path) > len(fc.Path())
}

func lastPathName(p ast.Path) string {
	for i := len(p) - 1; i >= 0; i-- {
		if name, ok := p[i].(ast.PathName); ok {
			return string(name)
		}
	}
	return ""
}
