//go:build soak

package soak

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// stats collects the outcome of every request by kind.
type stats struct {
	mu       sync.Mutex
	took     map[string][]time.Duration
	errors   map[string]map[string]int // kind → code → count
	problems []string                  // broken invariants, one line each
	total    int
	drain    string // the outbox's backlog after the load, and how long it took to drain
}

func newStats() *stats {
	return &stats{took: map[string][]time.Duration{}, errors: map[string]map[string]int{}}
}

// observe records one request of kind that took d and ended with code ("" for success).
func (s *stats) observe(kind string, d time.Duration, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	s.took[kind] = append(s.took[kind], d)
	if code != "" {
		if s.errors[kind] == nil {
			s.errors[kind] = map[string]int{}
		}
		s.errors[kind][code]++
	}
}

// broke records a broken invariant.
func (s *stats) broke(format string, args ...any) {
	s.mu.Lock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

func (s *stats) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(float64(len(sorted)-1)*p)]
}

// sideEffects are the counts of emails and Stripe customers against the intents that called
// for them.
type sideEffects struct {
	name                        string
	intents, exact, dup, missed int
	// resent counts extra copies of one message (same Message-ID): SMTP's at-least-once edge,
	// reported apart from duplicated intents (see emailEffects).
	resent int
}

// print writes the run's table as Markdown.
func (s *stats) print(w io.Writer, elapsed time.Duration, injected map[string]int, effects []sideEffects, doctor string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(w, "\nSoak: %d requests in %s (%.0f/s), 3 replicas, concurrency %d\n\n", s.total, elapsed.Round(time.Second), float64(s.total)/elapsed.Seconds(), concurrency)
	fmt.Fprintln(w, "| kind | requests | p50 | p99 | errors by code |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, kind := range slices.Sorted(maps.Keys(s.took)) {
		d := slices.Clone(s.took[kind])
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		var errs []string
		for _, code := range slices.Sorted(maps.Keys(s.errors[kind])) {
			errs = append(errs, fmt.Sprintf("%s %d", code, s.errors[kind][code]))
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", kind, len(d), percentile(d, .5).Round(100*time.Microsecond),
			percentile(d, .99).Round(100*time.Microsecond), strings.Join(errs, ", "))
	}
	fmt.Fprintln(w, "\n| fault injected | times |\n| --- | --- |")
	for _, f := range slices.Sorted(maps.Keys(injected)) {
		fmt.Fprintf(w, "| %s | %d |\n", f, injected[f])
	}
	fmt.Fprintln(w, "\n| side effect | intents | exactly once | duplicated | lost | same message resent |\n| --- | --- | --- | --- | --- | --- |")
	for _, e := range effects {
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d |\n", e.name, e.intents, e.exact, e.dup, e.missed, e.resent)
	}
	fmt.Fprintf(w, "\noutbox: %s\ntenantry doctor: %s\ninvariants broken: %d\n", s.drain, doctor, len(s.problems))
	for _, p := range s.problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}
