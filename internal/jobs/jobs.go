// Package jobs is the registry of named background jobs. The CLI (`tenantry jobs run NAME`), the
// server's scheduler and Cloud Functions all run the same registered functions.
package jobs

import (
	"context"
	"fmt"
	"sort"
)

// Job is one named unit of maintenance work. Run must be idempotent and safe to interrupt: it
// may run again after a crash, or twice when leases expire.
type Job struct {
	Name        string
	Description string
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
