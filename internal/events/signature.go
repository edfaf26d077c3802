// Package events delivers Tenantry's events to the application (docs/events.md): the outbox
// handler of kinds.AppEvent POSTs each event to TENANTRY_EVENTS_URL, signed as the Standard
// Webhooks specification says, and Verify checks such a request, for tests and for receivers
// written in Go. Which changes make which events is the domain's business (tenancy.Events).
package events

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The request headers of the specification.
const (
	HeaderID        = standardwebhooks.HeaderWebhookID
	HeaderTimestamp = standardwebhooks.HeaderWebhookTimestamp
	HeaderSignature = standardwebhooks.HeaderWebhookSignature
)

// SecretPrefix starts every signing secret: whsec_ and the key in standard base64.
const SecretPrefix = "whsec_"

// DefaultTolerance is how far a request's webhook-timestamp may be from the receiver's clock,
// either way, as the specification's libraries use: enough for clock skew and a slow network,
// too little to replay a captured request later.
const DefaultTolerance = 5 * time.Minute

// Verification failures. None of them carries the secret or the signatures.
var (
	ErrMissingHeaders = errors.New("events: the request lacks webhook-id, webhook-timestamp or webhook-signature")
	ErrBadTimestamp   = errors.New("events: webhook-timestamp is not a number of seconds")
	ErrTooOld         = errors.New("events: webhook-timestamp is too old (a replay, or the receiver's clock is ahead)")
	ErrTooNew         = errors.New("events: webhook-timestamp is in the future (the receiver's clock is behind)")
	ErrNoValidSig     = errors.New("events: no signature matches the body with this secret (a changed body, or another secret)")
	ErrBadSecret      = errors.New("events: the signing secret must be whsec_ followed by standard base64 of at least 24 bytes (generate one with `openssl rand -base64 32`)")
)

// minKeyBytes is the shortest key accepted: the specification asks for 24 to 64 bytes.
const minKeyBytes = 24

// Secret is a parsed signing secret. Its String never shows the key.
type Secret struct{ hook *standardwebhooks.Webhook }

// ParseSecret checks and parses a whsec_ secret (TENANTRY_EVENTS_SECRET). The error never
// repeats the secret.
func ParseSecret(s string) (Secret, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(s), SecretPrefix)
	if !ok {
		return Secret{}, ErrBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < minKeyBytes {
		return Secret{}, ErrBadSecret
	}
	hook, err := standardwebhooks.NewWebhookRaw(key)
	if err != nil {
		return Secret{}, ErrBadSecret
	}
	return Secret{hook: hook}, nil
}

// String hides the key (a Secret printed by mistake shows nothing).
func (Secret) String() string { return "whsec_***" }

// Sign is the webhook-signature header of body sent as message id at ts: "v1," and the base64
// of HMAC-SHA256 over "id.ts.body", ts in Unix seconds.
func (s Secret) Sign(id string, ts time.Time, body []byte) string {
	sig, _ := s.hook.Sign(id, ts, body) // the library's Sign cannot fail
	return sig
}

// Headers are the three headers of a request carrying body as message id, sent at ts.
func (s Secret) Headers(id string, ts time.Time, body []byte) http.Header {
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, s.Sign(id, ts, body))
	return h
}

// Verify checks a received request: its headers are present, its webhook-timestamp is within
// tolerance of now (DefaultTolerance when tolerance <= 0), and one of the v1 signatures in
// webhook-signature (space-separated, so that a secret can be rotated) matches body. Pass the
// body exactly as received, before any JSON parsing. The error is one of the Err… values.
func Verify(secret Secret, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if h.Get(HeaderID) == "" || h.Get(HeaderTimestamp) == "" || h.Get(HeaderSignature) == "" {
		return ErrMissingHeaders
	}
	secs, err := strconv.ParseInt(h.Get(HeaderTimestamp), 10, 64)
	if err != nil {
		return ErrBadTimestamp
	}
	switch ts := time.Unix(secs, 0); {
	case now.Sub(ts) > tolerance:
		return ErrTooOld
	case ts.Sub(now) > tolerance:
		return ErrTooNew
	}
	// The library compares in constant time; its own clock check is skipped for ours above.
	if err := secret.hook.VerifyIgnoringTimestamp(body, h); err != nil {
		return ErrNoValidSig
	}
	return nil
}
