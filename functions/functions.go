// Package functions exposes Tenantry's jobs as Cloud Functions (2nd gen), one HTTP entry point per
// job, for Cloud Scheduler to trigger. Each entry point is a thin adapter: it builds the same
// internal/app wiring as `tenantry serve` (once per instance, from the same environment variables)
// and runs the registered job once, exactly like `tenantry jobs run NAME`.
//
// Trigger: Cloud Scheduler HTTP target, POST, authenticated with an OIDC token of a service account
// that may invoke the function (the function itself does not allow unauthenticated calls). The
// body is optional; when present it must be a JSON object, and its "job" field, if any, must name
// the entry point's job, so that a scheduler job pointed at the wrong URL fails loudly:
//
//	POST /  (Content-Type: application/json)
//	User-Agent: Google-Cloud-Scheduler
//	X-CloudScheduler: true
//	X-CloudScheduler-JobName: tenantry-outbox
//	X-CloudScheduler-ScheduleTime: 2026-11-27T10:00:00Z
//	{"job":"outbox"}
//
// The answer is 200 with {"job","summary","durationMs"} when the job ran, and 500 with
// {"job","error"} when it failed, so that Cloud Scheduler records the failure and retries per its
// retry configuration. Every job is idempotent and safe to run twice.
//
// Deployment: the Go buildpack deploys the package at the module root, so the repository root
// holds cloudfunctions.go, which imports this package; see the README for the gcloud commands.
package functions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	ff "github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/tenantry/tenantry/internal/app"
	"github.com/tenantry/tenantry/internal/config"
)

// entryPoints maps each Cloud Functions entry point (gcloud's --entry-point) to its job.
var entryPoints = map[string]string{
	"Outbox":                  "outbox",
	"PurgeIdempotencyRecords": "purge-idempotency-records",
	"ExpireTrials":            "expire-trials",
	"ExpireInvitations":       "expire-invitations",
	"VerifyDomains":           "verify-domains",
	"PurgeCancelledTenants":   "purge-cancelled-tenants",
	"Doctor":                  "doctor",
	"SweepDeletedUsers":       "sweep-deleted-users",
}

func init() {
	for name, job := range entryPoints {
		ff.HTTP(name, Handler(job))
	}
}

// EntryPoints lists the entry points and their jobs, sorted by entry point.
func EntryPoints() [][2]string {
	out := make([][2]string, 0, len(entryPoints))
	for ep, job := range entryPoints {
		out = append(out, [2]string{ep, job})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

var (
	instanceMu sync.Mutex
	instance   *app.App
)

// App returns the instance's wired Tenantry, building it on first use. A failure is not cached:
// the next invocation tries again (Firestore may have been briefly unreachable).
func App(ctx context.Context) (*app.App, error) {
	instanceMu.Lock()
	defer instanceMu.Unlock()
	if instance != nil {
		return instance, nil
	}
	cfg, err := config.Load(nil)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: logger(cfg)})
	if err != nil {
		return nil, err
	}
	instance = a
	return a, nil
}

// logger writes JSON lines that Cloud Logging understands: "severity" and "message".
func logger(cfg config.Config) *slog.Logger {
	level, _ := cfg.SlogLevel()
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				a.Key = "severity"
				if l, ok := a.Value.Any().(slog.Level); ok && l == slog.LevelWarn {
					a.Value = slog.StringValue("WARNING")
				}
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}

// maxBody bounds what a trigger may send; the documented body is a few bytes.
const maxBody = 64 << 10

type answer struct {
	Job        string `json:"job"`
	Summary    string `json:"summary,omitempty"`
	DurationMs int64  `json:"durationMs"`
	Error      string `json:"error,omitempty"`
}

// Handler is the HTTP function that runs job once per request.
func Handler(job string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSON(w, http.StatusMethodNotAllowed, answer{Job: job, Error: "use POST (Cloud Scheduler's HTTP target)"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, answer{Job: job, Error: "body too large"})
			return
		}
		if b := strings.TrimSpace(string(body)); b != "" {
			var req struct {
				Job string `json:"job"`
			}
			if err := json.Unmarshal([]byte(b), &req); err != nil {
				writeJSON(w, http.StatusBadRequest, answer{Job: job, Error: `the body must be empty or a JSON object such as {"job":"` + job + `"}`})
				return
			}
			if req.Job != "" && req.Job != job {
				writeJSON(w, http.StatusBadRequest, answer{Job: job, Error: fmt.Sprintf("this entry point runs %q, not %q: check the scheduler job's URL", job, req.Job)})
				return
			}
		}
		ctx := r.Context()
		log := slog.Default().With("job", job,
			"schedulerJob", r.Header.Get("X-CloudScheduler-JobName"),
			"scheduleTime", r.Header.Get("X-CloudScheduler-ScheduleTime"))
		a, err := App(ctx)
		if err != nil {
			log.Error("cannot start Tenantry", "error", err.Error())
			writeJSON(w, http.StatusInternalServerError, answer{Job: job, Error: "cannot start; see the function's logs"})
			return
		}
		j, ok := a.Jobs.Get(job)
		if !ok {
			writeJSON(w, http.StatusNotFound, answer{Job: job, Error: "this build has no job " + job})
			return
		}
		start := time.Now()
		summary, err := j.Run(ctx, func(line string) { log.Info("job progress", "progress", line) })
		res := answer{Job: job, Summary: summary, DurationMs: time.Since(start).Milliseconds()}
		if err != nil {
			if errors.Is(err, context.Canceled) {
				log.Warn("job interrupted", "summary", summary)
			} else {
				log.Error("job failed", "summary", summary, "error", err.Error())
			}
			res.Error = err.Error()
			writeJSON(w, http.StatusInternalServerError, res)
			return
		}
		log.Info("job done", "summary", summary, "durationMs", res.DurationMs)
		writeJSON(w, http.StatusOK, res)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
