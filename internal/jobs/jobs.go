// Package jobs is the registry of named background jobs and their scheduler. The CLI
// (`tenantry jobs run NAME`), the server's scheduler (Scheduler, with a lease per job and period)
// and the Cloud Functions in functions/ all run the same registered functions.
package jobs

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Job is one named unit of maintenance work. Run must be idempotent and safe to interrupt: it
// may run again after a crash, or twice when leases expire.
type Job struct {
	Name        string
	Description string
	// Interval is how often `tenantry serve` runs the job: 0 means DefaultInterval (1h),
	// NotScheduled keeps it out of the scheduler; TENANTRY_JOB_INTERVALS overrides either.
	Interval time.Duration
	// Run does the work, calling progress with a short line on long runs, and returns a
	// one-line summary of what it did.
	Run func(ctx context.Context, progress func(string)) (summary string, err error)
}

// Registry holds jobs by name.
type Registry struct{ jobs map[string]Job }

// NewRegistry registers jobs; duplicate names are a programming error.
func NewRegistry(list ...Job) *Registry {
	r := &Registry{jobs: make(map[string]Job, len(list))}
	for _, j := range list {
		if _, dup := r.jobs[j.Name]; dup {
			panic(fmt.Sprintf("jobs: %q registered twice", j.Name))
		}
		r.jobs[j.Name] = j
	}
	return r
}

// Add registers one more job (for wiring that builds its jobs after the registry); a duplicate
// name is a programming error.
func (r *Registry) Add(j Job) {
	if _, dup := r.jobs[j.Name]; dup {
		panic(fmt.Sprintf("jobs: %q registered twice", j.Name))
	}
	r.jobs[j.Name] = j
}

// List returns the jobs sorted by name.
func (r *Registry) List() []Job {
	out := make([]Job, 0, len(r.jobs))
	for _, j := range r.jobs {
		out = append(out, j)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].Name < out[k].Name })
	return out
}

// Get finds a job by name.
func (r *Registry) Get(name string) (Job, bool) {
	j, ok := r.jobs[name]
	return j, ok
}
