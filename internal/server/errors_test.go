package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/tenantry/tenantry/internal/errs"
)

func presentInField(err error) *gqlerror.Error {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	ctx = context.WithValue(ctx, requestIDKey{}, "req-12345678")
	// gqlgen wraps a resolver's error like this before presenting it.
	return presentError(ctx, &gqlerror.Error{Err: err, Message: err.Error()})
}

func TestPresentErrorMapsEverySentinel(t *testing.T) {
	for _, m := range errorCodes {
		wrapped := fmt.Errorf("some layer: %w", m.err)
		got := presentInField(wrapped)
		if got.Extensions["code"] != m.code {
			t.Errorf("%v: code = %v, want %s", m.err, got.Extensions["code"], m.code)
		}
		if strings.Contains(got.Message, "some layer") {
			t.Errorf("%v: message %q leaks the wrapping text", m.err, got.Message)
		}
	}
}

func TestPresentErrorValidationNamesTheField(t *testing.T) {
	got := presentInField(errs.Invalid("subdomain", "use 3 to 63 characters"))
	if got.Extensions["code"] != CodeBadUserInput || got.Extensions["field"] != "subdomain" {
		t.Fatalf("extensions = %v", got.Extensions)
	}
}

func TestPresentErrorHidesInternals(t *testing.T) {
	got := presentInField(errors.New("rpc error: code = Unavailable desc = dial tcp 10.0.0.1:443: secret-ish detail"))
	if got.Extensions["code"] != CodeInternal {
		t.Fatalf("code = %v", got.Extensions["code"])
	}
	for _, leak := range []string{"rpc", "10.0.0.1", "secret"} {
		if strings.Contains(got.Message, leak) {
			t.Errorf("message %q leaks %q", got.Message, leak)
		}
	}
	if !strings.Contains(got.Message, "req-12345678") {
		t.Errorf("message %q should quote the request id for support", got.Message)
	}
}

func TestPresentErrorRequestProblemsAreBadUserInput(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, graphql.DefaultRecover)
	gerr := gqlerror.Errorf("Cannot query field \"nope\" on type \"Query\".")
	gerr.Extensions = map[string]any{"code": "GRAPHQL_VALIDATION_FAILED"}
	got := presentError(ctx, gerr)
	if got.Extensions["code"] != CodeBadUserInput || got.Extensions["reason"] != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("extensions = %v", got.Extensions)
	}
}

func TestPanicIsInternal(t *testing.T) {
	ctx := context.WithValue(context.Background(), requestIDKey{}, "req-12345678")
	got := presentInField(recoverPanic(ctx, "boom at secret place"))
	if got.Extensions["code"] != CodeInternal || strings.Contains(got.Message, "boom") {
		t.Fatalf("got %v %q", got.Extensions, got.Message)
	}
}

func TestPresentErrorDetailKeepsItsMessage(t *testing.T) {
	err := fmt.Errorf("store layer: %w", errs.Detail(errs.ErrInvalidTransition, "an active organization cannot go to trial; allowed: %s", "past_due"))
	got := presentInField(err)
	if got.Extensions["code"] != CodeInvalidTransition {
		t.Fatalf("code = %v", got.Extensions["code"])
	}
	if got.Message != "an active organization cannot go to trial; allowed: past_due" {
		t.Errorf("message = %q, want the detail without the wrapping text", got.Message)
	}
}
