package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/tenantry/tenantry/internal/billing"
)

// MaxStripeWebhookBytes bounds a webhook delivery's body. Stripe's events for subscriptions and
// invoices are a few KiB; anything near the limit is not one of them.
const MaxStripeWebhookBytes = 64 << 10

// StripeWebhook applies one delivery of POST /webhooks/stripe: the raw body and its
// Stripe-Signature header (billing.Service.HandleWebhook).
type StripeWebhook func(ctx context.Context, payload []byte, signature string) (billing.Result, error)

// stripeWebhookHandler answers Stripe: 400 for a delivery that is not a signed, fresh, parseable
// event (oversized bodies included) — Stripe shows these as failures, and nothing was changed;
// 500 when applying a valid event failed on our side, so Stripe delivers it again later; 200
// for every event handled, whatever it did (unknown types, duplicates, stale events and moves the
// lifecycle refuses included: retrying them could never change the answer).
func stripeWebhookHandler(apply StripeWebhook) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		// The signature covers the exact bytes, so the body is read raw, never re-encoded.
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxStripeWebhookBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				slog.WarnContext(ctx, "Stripe webhook refused: body over the limit", "limit", MaxStripeWebhookBytes)
				writeWebhookAnswer(w, http.StatusBadRequest, map[string]any{"error": "payload too large"})
				return
			}
			writeWebhookAnswer(w, http.StatusBadRequest, map[string]any{"error": "cannot read the body"})
			return
		}
		res, err := apply(ctx, payload, r.Header.Get("Stripe-Signature"))
		switch {
		case errors.Is(err, billing.ErrInvalidEvent):
			// The error names the check that failed (signature, age, JSON), never the secret.
			slog.WarnContext(ctx, "Stripe webhook refused", "error", err.Error())
			writeWebhookAnswer(w, http.StatusBadRequest, map[string]any{"error": "invalid event"})
		case err != nil:
			slog.ErrorContext(ctx, "Stripe webhook failed; Stripe will deliver it again", "error", err.Error())
			writeWebhookAnswer(w, http.StatusInternalServerError, map[string]any{"error": "internal error; retry later", "requestId": RequestID(ctx)})
		default:
			writeWebhookAnswer(w, http.StatusOK, map[string]any{"received": true, "outcome": string(res.Outcome)})
		}
	})
}

func writeWebhookAnswer(w http.ResponseWriter, code int, body map[string]any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}
