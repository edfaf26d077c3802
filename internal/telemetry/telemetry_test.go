package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	fbauth "firebase.google.com/go/v4/auth"
	"github.com/golang-jwt/jwt/v5"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
	"github.com/tenantry/tenantry/internal/telemetry"
	"github.com/tenantry/tenantry/internal/testenv"
)

func TestEnabledFollowsTheStandardVariables(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x"}, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
	} {
		if got := telemetry.Enabled(func(k string) string { return c.env[k] }); got != c.want {
			t.Errorf("%v: Enabled = %v, want %v", c.env, got, c.want)
		}
	}
}

// emulatorToken is an ID token as the Auth emulator issues them (unsigned) for u in project.
func emulatorToken(t *testing.T, project string, u testenv.User) string {
	t.Helper()
	now := time.Now().Unix()
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"iss": "https://securetoken.google.com/" + project, "aud": project, "sub": u.UID, "user_id": u.UID,
		"auth_time": now, "iat": now, "exp": now + 3600, "email": u.Email, "email_verified": true,
		"firebase": map[string]any{"sign_in_provider": "password", "identities": map[string]any{"email": []string{u.Email}}},
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// One provisioning request, traced into memory: its HTTP span, the GraphQL operation's span
// under it, Firestore's own spans under that, all with the request id; then the outbox attempt
// the request queued, in a trace of its own linked to the request and carrying its id. Nothing
// of the token or the variables shows in any span.
func TestOneRequestIsTracedThroughTheOutbox(t *testing.T) {
	iso := testenv.Require(t).IsolatedProject(t)
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	tp, err := telemetry.NewTracerProvider(ctx, sdktrace.WithSyncer(exp))
	if err != nil {
		t.Fatal(err)
	}
	telemetry.Install(tp) // the Firestore client traces through the global provider
	t.Cleanup(func() { telemetry.Install(noop.NewTracerProvider()) })

	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Project = iso.Project
	a, err := app.New(ctx, cfg, app.Options{Tracing: tp, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)

	// A user of the isolated project (NewUser would sign in through the default one).
	u := testenv.User{Email: testenv.UniqueID("traced-") + "@example.test"}
	rec, err := iso.Auth(t).CreateUser(ctx, (&fbauth.UserToCreate{}).Email(u.Email).EmailVerified(true))
	if err != nil {
		t.Fatal(err)
	}
	u.UID = rec.UID
	token := emulatorToken(t, iso.Project, u)
	const secretName = "Traced Secretive Org"
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation P($in: ProvisionTenantInput!) { provisionTenant(input: $in) { tenant { id } } }`,
		"variables": map[string]any{"in": map[string]any{"idempotencyKey": testenv.UniqueID("trace-key-"), "organizationName": secretName}},
	})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(answer), `"errors"`) {
		t.Fatalf("provisionTenant: HTTP %d %s", resp.StatusCode, answer)
	}
	requestID := resp.Header.Get("X-Request-Id")
	if _, err := a.Outbox.RunPass(ctx, nil); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	httpSpan := only(t, spans, func(s tracetest.SpanStub) bool { return s.Name == "POST /graphql" })
	gqlSpan := only(t, spans, func(s tracetest.SpanStub) bool { return s.Name == "graphql mutation.provisionTenant" })
	for _, s := range []tracetest.SpanStub{httpSpan, gqlSpan} {
		if attr(s, "tenantry.request_id") != requestID {
			t.Errorf("span %q: request id %q, want %q", s.Name, attr(s, "tenantry.request_id"), requestID)
		}
	}
	if gqlSpan.Parent.SpanID() != httpSpan.SpanContext.SpanID() {
		t.Errorf("the GraphQL span is not a child of the HTTP span")
	}
	firestoreSpans := 0
	for _, s := range spans {
		if s.InstrumentationScope.Name == "cloud.google.com/go" && s.SpanContext.TraceID() == httpSpan.SpanContext.TraceID() {
			firestoreSpans++
			if attr(s, "tenantry.request_id") != requestID {
				t.Errorf("Firestore span %q without the request id", s.Name)
			}
		}
	}
	if firestoreSpans == 0 {
		t.Errorf("no Firestore span in the request's trace; spans: %v", names(spans))
	}
	outboxSpans := 0
	for _, s := range spans {
		if !strings.HasPrefix(s.Name, "outbox ") || attr(s, "tenantry.request_id") != requestID {
			continue
		}
		outboxSpans++
		if attr(s, "outbox.kind") == "" || attr(s, "outbox.attempt") != "1" || len(s.Links) != 1 ||
			s.Links[0].SpanContext.TraceID() != httpSpan.SpanContext.TraceID() {
			t.Errorf("outbox span %q: attributes %v, links %v; want kind, attempt 1 and a link to the request", s.Name, s.Attributes, s.Links)
		}
	}
	if outboxSpans == 0 {
		t.Errorf("no outbox span carries the request id; spans: %v", names(spans))
	}
	for _, s := range spans {
		for _, kv := range s.Attributes {
			if v := kv.Value.String(); strings.Contains(v, token[:20]) || strings.Contains(v, secretName) {
				t.Errorf("span %q attribute %s shows the token or the variables: %q", s.Name, kv.Key, v)
			}
		}
	}
}

func only(t *testing.T, spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if match(s) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d matching spans, want 1; spans: %v", len(found), names(spans))
	}
	return found[0]
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func names(spans tracetest.SpanStubs) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name + "(" + s.SpanKind.String() + ")"
	}
	return out
}

func TestSetupStartsNothingWhenOffAndRefusesWhatItCannotExport(t *testing.T) {
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"} {
		t.Setenv(k, "")
	}
	tp, stop, err := telemetry.Setup(context.Background())
	if err != nil || tp != nil || stop(context.Background()) != nil {
		t.Fatalf("with no OTEL_* variables: provider %v, error %v; want none", tp, err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	if _, _, err := telemetry.Setup(context.Background()); err == nil || !strings.Contains(err.Error(), "http/protobuf") {
		t.Fatalf("OTLP over gRPC: %v, want a refusal that names http/protobuf", err)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "zipkin")
	if _, _, err := telemetry.Setup(context.Background()); err == nil {
		t.Fatal("OTEL_TRACES_EXPORTER=zipkin accepted")
	}
}
