package importclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

const importMutation = `mutation Import($in: ImportRecordsInput!) {
  importRecords(input: $in) { collection received accepted alreadyImported dryRun rejected { index field reason } }
}`

// Report is importRecords' answer to one call.
type Report struct {
	Received        int         `json:"received"`
	Accepted        int         `json:"accepted"`
	AlreadyImported int         `json:"alreadyImported"`
	Rejected        []Rejection `json:"rejected"`
}

// Rejection is one rejected record of a call: Index is its place in the call.
type Rejection struct {
	Index  int     `json:"index"`
	Field  *string `json:"field"`
	Reason string  `json:"reason"`
}

// APIError is an error the API answered: its extensions.code and message.
type APIError struct {
	Code    string
	Field   string
	Message string
}

func (e *APIError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%s): %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// retryable reports whether sending the same call again may succeed: a rate limit, or a failure
// on the server's side.
func (e *APIError) retryable() bool { return e.Code == "RATE_LIMITED" || e.Code == "INTERNAL" }

// api calls importRecords.
type api struct {
	url   string
	token string
	http  *http.Client
}

// call sends one importRecords call. It never puts the token in an error.
func (a api) call(ctx context.Context, in map[string]any) (Report, error) {
	body, err := json.Marshal(map[string]any{"query": importMutation, "variables": map[string]any{"in": in}})
	if err != nil {
		return Report{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return Report{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.http.Do(req)
	if err != nil {
		return Report{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return Report{}, err
	}
	var answer struct {
		Data struct {
			ImportRecords *Report `json:"importRecords"`
		} `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return Report{}, fmt.Errorf("HTTP %d from %s, not a GraphQL answer: %.200s", resp.StatusCode, a.url, raw)
	}
	if len(answer.Errors) > 0 {
		e := answer.Errors[0]
		code, _ := e.Extensions["code"].(string)
		field, _ := e.Extensions["field"].(string)
		return Report{}, &APIError{Code: code, Field: field, Message: e.Message}
	}
	if answer.Data.ImportRecords == nil {
		return Report{}, fmt.Errorf("HTTP %d from %s without a report", resp.StatusCode, a.url)
	}
	return *answer.Data.ImportRecords, nil
}

// callWithRetries sends a call until it is answered, retrying (with the same idempotency key,
// so a call that did land is answered again, not repeated) on network errors, rate limits and
// server failures, with backoff, at most attempts times.
func (a api) callWithRetries(ctx context.Context, in map[string]any, attempts int, backoff time.Duration) (Report, error) {
	var err error
	for i := range attempts {
		if i > 0 {
			select {
			case <-time.After(backoff << (i - 1)):
			case <-ctx.Done():
				return Report{}, ctx.Err()
			}
		}
		var r Report
		r, err = a.call(ctx, in)
		if err == nil {
			return r, nil
		}
		var apiErr *APIError
		if ctx.Err() != nil || (errors.As(err, &apiErr) && !apiErr.retryable()) {
			return Report{}, err
		}
	}
	return Report{}, err
}
