package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
)

// Kinds lists the outbox kinds this package handles (Register).
var Kinds = kinds.Names(kinds.AppEvent{})

// DefaultTimeout bounds one delivery attempt; a receiver should answer at once and work later.
const DefaultTimeout = 15 * time.Second

// maxResponseBytes of a receiver's answer are read (and dropped), so the connection is reused.
const maxResponseBytes = 64 << 10

// Config is where and how events go.
type Config struct {
	URL     string // TENANTRY_EVENTS_URL: absolute http(s)
	Secret  Secret
	Timeout time.Duration // per attempt; DefaultTimeout when 0
	Client  *http.Client  // nil: a client with Timeout
}

// Sender POSTs events to the application.
type Sender struct {
	url    string
	secret Secret
	client *http.Client
	clock  clock.Clock
}

// NewSender checks cfg and builds the sender; clk dates each attempt's webhook-timestamp.
func NewSender(cfg Config, clk clock.Clock) (*Sender, error) {
	if err := CheckURL(cfg.URL); err != nil {
		return nil, err
	}
	if cfg.Secret.hook == nil {
		return nil, ErrBadSecret
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Sender{url: cfg.URL, secret: cfg.Secret, client: client, clock: clk}, nil
}

// CheckURL accepts an absolute http or https URL with a host.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("events: the URL must be absolute http:// or https:// with a host, such as https://app.example.com/tenantry/events")
	}
	return nil
}

// Register makes s the handler of application events on d.
func (s *Sender) Register(d *outbox.Dispatcher) { kinds.Handle(d, s.deliver) }

// deliver POSTs one event. The webhook-id is the entry's id, the same on every attempt, so the
// receiver drops a repeat; the timestamp and signature are the attempt's. Any answer but 2xx is
// retried by the outbox with backoff, and dead-lettered after its attempts run out. Errors name
// the event and the answer's status, never the URL (it may carry a token) or the secret.
func (s *Sender) deliver(ctx context.Context, d outbox.Delivery, ev kinds.AppEvent) error {
	if ev.Type == "" || len(ev.Data) == 0 {
		return outbox.Permanentf("event %s has no type or no data: the entry is malformed", d.IdempotencyKey)
	}
	body, err := ev.Body()
	if err != nil {
		return outbox.Permanentf("event %s: encode the body: %w", d.IdempotencyKey, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return outbox.Permanentf("event %s: build the request: %w", d.IdempotencyKey, err)
	}
	for k, v := range s.secret.Headers(d.IdempotencyKey, s.clock.Now(), body) {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("event %s (%s): the receiver did not answer: %w", d.IdempotencyKey, ev.Type, unwrapURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("event %s (%s): the receiver answered %s; it will be sent again", d.IdempotencyKey, ev.Type, resp.Status)
	}
	return nil
}

// unwrapURL drops the *url.Error wrapper, whose message repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
