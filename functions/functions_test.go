package functions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantry/tenantry/functions"
	"github.com/tenantry/tenantry/internal/clock"
	"github.com/tenantry/tenantry/internal/outbox/kinds"
	"github.com/tenantry/tenantry/internal/store"
	"github.com/tenantry/tenantry/internal/testenv"
)

// schedulerRequest is what Cloud Scheduler's HTTP target sends: a POST with the configured body
// and its own headers (the OIDC Authorization header is checked by Cloud Run's IAM, not by us).
func schedulerRequest(url, job string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, url, strings.NewReader(`{"job":"`+job+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Google-Cloud-Scheduler")
	req.Header.Set("X-CloudScheduler", "true")
	req.Header.Set("X-CloudScheduler-JobName", "tenantry-"+job)
	req.Header.Set("X-CloudScheduler-ScheduleTime", time.Now().UTC().Format(time.RFC3339))
	return req
}

type answer struct {
	Job        string `json:"job"`
	Summary    string `json:"summary"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error"`
}

// The entry points build the app from the environment, once per process, like a function instance:
// one test sets the environment and runs everything in order.
func TestEntryPointsRunTheJobsForCloudScheduler(t *testing.T) {
	env := testenv.Require(t).IsolatedProject(t)
	mp := testenv.Mailpit(t)
	t.Setenv("GOOGLE_CLOUD_PROJECT", env.Project)
	t.Setenv("SMTP_URL", mp.SMTPURL)
	t.Setenv("TENANTRY_LOG_LEVEL", "warn")
	ctx := context.Background()
	box := mp.NewMailbox()
	ob := store.New(env.Firestore(t)).Outbox()
	for i := range 3 {
		id := testenv.UniqueID("t")
		if err := ob.Enqueue(ctx, kinds.ID(kinds.WelcomeEmail{}, id), kinds.WelcomeEmail{}.Kind(), id,
			map[string]any{"to": box.Address(fmt.Sprintf("fn%d", i)), "organizationName": "Fn Org"}, clock.System{}.Now()); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("every job has an entry point", func(t *testing.T) {
		a, err := functions.App(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byJob := map[string]string{}
		for _, ep := range functions.EntryPoints() {
			byJob[ep[1]] = ep[0]
		}
		for _, j := range a.Jobs.List() {
			if byJob[j.Name] == "" {
				t.Errorf("job %q has no Cloud Functions entry point: add it to entryPoints in functions.go and to the README's deploy commands", j.Name)
			}
		}
	})

	t.Run("outbox via the handler", func(t *testing.T) {
		rec := httptest.NewRecorder()
		functions.Handler("outbox").ServeHTTP(rec, schedulerRequest("/", "outbox"))
		var got answer
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
			t.Fatalf("HTTP %d %s (%v)", rec.Code, rec.Body, err)
		}
		if got.Job != "outbox" || !strings.Contains(got.Summary, "done 3") {
			t.Errorf("answer %+v, want 3 entries done", got)
		}
		if n := len(box.WaitFor(3, 10*time.Second)); n != 3 {
			t.Errorf("%d emails, want 3", n)
		}
	})

	t.Run("through the functions framework", func(t *testing.T) {
		// The framework serves every registered entry point at /<name> when FUNCTION_TARGET is
		// unset, which is how `go run` of a functions project serves them locally.
		base := serveFunctions(t)
		var resp *http.Response
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; {
			req := schedulerRequest(base+"/PurgeIdempotencyRecords", "purge-idempotency-records")
			req.RequestURI = ""
			if resp, err = http.DefaultClient.Do(req); err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "deleted 0 expired idempotency records") {
			t.Errorf("POST /PurgeIdempotencyRecords: HTTP %d %s", resp.StatusCode, body)
		}
		for _, ep := range functions.EntryPoints() {
			req := httptest.NewRequest(http.MethodGet, base+"/"+ep[0], nil)
			req.RequestURI = ""
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("GET /%s: HTTP %d, want 405 (the entry point is registered and POST-only)", ep[0], resp.StatusCode)
			}
		}
	})

	t.Run("a body naming another job is refused", func(t *testing.T) {
		rec := httptest.NewRecorder()
		functions.Handler("outbox").ServeHTTP(rec, schedulerRequest("/", "expire-trials"))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "check the scheduler job's URL") {
			t.Errorf("HTTP %d %s, want 400", rec.Code, rec.Body)
		}
		rec = httptest.NewRecorder()
		functions.Handler("outbox").ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("not json")))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("non-JSON body: HTTP %d, want 400", rec.Code)
		}
	})
}
