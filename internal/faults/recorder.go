package faults

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"sync"
)

// StripeCall is one request that reached stripe-mock through a StripeRecorder.
type StripeCall struct {
	Method, Path   string
	IdempotencyKey string
	TenantID       string // the form's metadata[tenant_id], "" when absent
	Status         int    // stripe-mock's answer (0: it did not answer)
}

// StripeRecorder is a reverse proxy in front of stripe-mock that records every request it
// forwards. stripe-mock is stateless (it keeps no customer), so this is where a test counts what
// Stripe was asked to do: put it between the fault proxy and stripe-mock, so a call whose answer
// a fault loses is still counted, as Stripe would have acted on it.
type StripeRecorder struct {
	URL string // http://127.0.0.1:<port>

	srv   *http.Server
	mu    sync.Mutex
	calls []StripeCall
}

// StartStripeRecorder listens on a 127.0.0.1 ephemeral port and forwards to target (stripe-mock's
// base URL).
func StartStripeRecorder(target string) (*StripeRecorder, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("faults: stripe-mock URL %q: %v", target, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &StripeRecorder{URL: "http://" + ln.Addr().String()}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		r.record(resp.Request, resp.StatusCode)
		return nil
	}
	rp.ErrorHandler = func(w http.ResponseWriter, req *http.Request, err error) {
		r.record(req, 0)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	r.srv = &http.Server{Handler: withTenant(rp)}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// tenantHeader carries the request's metadata[tenant_id] from the handler to ModifyResponse.
const tenantHeader = "X-Faults-Tenant"

// withTenant reads the form body once (Stripe's API is form-encoded), notes its
// metadata[tenant_id] in a header of the outgoing request, and restores the body for the proxy.
func withTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, "read the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if form, err := url.ParseQuery(string(body)); err == nil {
			req.Header.Set(tenantHeader, form.Get("metadata[tenant_id]"))
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, req)
	})
}

func (r *StripeRecorder) record(req *http.Request, status int) {
	c := StripeCall{
		Method: req.Method, Path: req.URL.Path, Status: status,
		IdempotencyKey: req.Header.Get("Idempotency-Key"), TenantID: req.Header.Get(tenantHeader),
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
}

// Calls lists the recorded calls, in the order stripe-mock answered them.
func (r *StripeRecorder) Calls() []StripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// CustomerKeys maps each tenant to the distinct Idempotency-Keys of the customer creations
// (POST /v1/customers) made for it. Stripe makes one customer per key, so a tenant with more
// than one key has more than one customer; a creation without a key counts as a key of its own.
func (r *StripeRecorder) CustomerKeys() map[string][]string { return r.creationKeys("/v1/customers") }

// SubscriptionKeys is CustomerKeys for subscription creations (POST /v1/subscriptions).
func (r *StripeRecorder) SubscriptionKeys() map[string][]string {
	return r.creationKeys("/v1/subscriptions")
}

// creationKeys maps each tenant to the distinct Idempotency-Keys of the POSTs to path.
func (r *StripeRecorder) creationKeys(path string) map[string][]string {
	out := map[string][]string{}
	for i, c := range r.Calls() {
		if c.Method != http.MethodPost || c.Path != path {
			continue
		}
		key := c.IdempotencyKey
		if key == "" {
			key = fmt.Sprintf("(none, call %d)", i)
		}
		if !slices.Contains(out[c.TenantID], key) {
			out[c.TenantID] = append(out[c.TenantID], key)
		}
	}
	return out
}

// Close stops the recorder.
func (r *StripeRecorder) Close() { _ = r.srv.Close() }
