package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// GraphQL is a client of a Tenantry server's POST /graphql, called as the SPA calls it: a JSON
// body, and a Firebase ID token as the bearer. It never touches a testing.T, so goroutines may
// use it; each test decides what a failure means.
//
//	api := testenv.GraphQL{URL: srv.URL}
//	a, err := api.Call(user.IDToken, `{ me { user { id } } }`, nil)
type GraphQL struct {
	URL    string       // the server's base URL, e.g. an httptest.Server's
	Client *http.Client // nil: HTTPClient
}

// GraphQLError is one entry of an answer's errors.
type GraphQLError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// Code is the error's extensions.code ("" when absent).
func (e GraphQLError) Code() string { s, _ := e.Extensions["code"].(string); return s }

// Field is the error's extensions.field: the input field a BAD_USER_INPUT is about.
func (e GraphQLError) Field() string { s, _ := e.Extensions["field"].(string); return s }

// GraphQLAnswer is one answer of POST /graphql.
type GraphQLAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	Data   json.RawMessage
	Errors []GraphQLError
}

// Codes lists the errors' codes, comma-separated; "" when there are no errors.
func (a GraphQLAnswer) Codes() string {
	cs := make([]string, len(a.Errors))
	for i, e := range a.Errors {
		cs[i] = e.Code()
	}
	return strings.Join(cs, ",")
}

// FieldJSON is the root field name of data as raw JSON ("null" when the field is null), or nil
// when data lacks it.
func (a GraphQLAnswer) FieldJSON(name string) json.RawMessage {
	var d map[string]json.RawMessage
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil
	}
	return d[name]
}

// Err is nil when the answer has no errors, and otherwise names the first error's code and
// message.
func (a GraphQLAnswer) Err() error {
	if len(a.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("graphql: %s: %s (%d errors)", a.Errors[0].Code(), a.Errors[0].Message, len(a.Errors))
}

// DecodeField decodes the root field of an answer without errors. It returns nil and the errors
// when the answer has errors, and an error when the field is missing, null or not a T.
func DecodeField[T any](a GraphQLAnswer, field string) (*T, []GraphQLError, error) {
	if len(a.Errors) > 0 {
		return nil, a.Errors, nil
	}
	var d map[string]*T
	if err := json.Unmarshal(a.Data, &d); err != nil || d[field] == nil {
		return nil, nil, fmt.Errorf("HTTP %d: no %s in %s (%v)", a.Status, field, a.Body, err)
	}
	return d[field], nil, nil
}

// HTTPClient is the client for calls to a server under test, GraphQL's included: tests send many
// calls at once to one server, so it keeps many connections to one host open.
var HTTPClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        200,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     30 * time.Second,
	},
}

// Call sends one operation as the user whose ID token is given ("" for anonymous).
func (c GraphQL) Call(token, query string, vars map[string]any) (GraphQLAnswer, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return GraphQLAnswer{}, fmt.Errorf("encode the request: %w", err)
	}
	return c.Send(token, nil, bytes.NewReader(body))
}

// Send posts body as it is, with a JSON content type, the bearer token when token is not "",
// and header's values added: for bodies that are not one well-formed operation, or headers a
// client chose (X-Request-Id, a forged Authorization). A body whose length is unknown (any
// reader but a *bytes.Reader, *bytes.Buffer or *strings.Reader) is sent chunked. The error says
// when there was no answer, or the answer is not GraphQL-shaped JSON; the answer, as far as it
// came, is returned with it.
func (c GraphQL) Send(token string, header http.Header, body io.Reader) (GraphQLAnswer, error) {
	req, err := http.NewRequest(http.MethodPost, c.URL+"/graphql", body)
	if err != nil {
		return GraphQLAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	client := c.Client
	if client == nil {
		client = HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return GraphQLAnswer{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	a := GraphQLAnswer{Status: resp.StatusCode, Header: resp.Header}
	if a.Body, err = io.ReadAll(resp.Body); err != nil {
		return a, fmt.Errorf("HTTP %d: read the body: %w", a.Status, err)
	}
	var g struct {
		Data   json.RawMessage `json:"data"`
		Errors []GraphQLError  `json:"errors"`
	}
	if err := json.Unmarshal(a.Body, &g); err != nil {
		return a, fmt.Errorf("HTTP %d, the body is not a GraphQL answer (%v): %.500s", a.Status, err, a.Body)
	}
	a.Data, a.Errors = g.Data, g.Errors
	return a, nil
}
