// Package bench holds Tenantry's benchmarks. They print figures (go test -bench . ./bench/);
// nothing here asserts on a timing. Where two figures are compared, both sides run in the same
// process, interleaved, and the ratio is reported.
package bench

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sample collects latencies from concurrent workers.
type Sample struct {
	mu  sync.Mutex
	lat []time.Duration
}

// Add records one latency.
func (s *Sample) Add(d time.Duration) {
	s.mu.Lock()
	s.lat = append(s.lat, d)
	s.mu.Unlock()
}

// Percentile returns the p-th percentile (0..100), nearest rank.
func (s *Sample) Percentile(p float64) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.lat) == 0 {
		return 0
	}
	sorted := append([]time.Duration(nil), s.lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	idx := int(p/100*float64(len(sorted))+0.5) - 1
	idx = max(0, min(idx, len(sorted)-1))
	return sorted[idx]
}

// Len is the number of latencies recorded.
func (s *Sample) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lat)
}

// Run calls op n times from c workers and returns the latencies and the wall time.
func Run(n, c int, op func(i int) error) (*Sample, time.Duration, error) {
	s := &Sample{}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := op(i)
				s.Add(time.Since(t0))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return s, time.Since(start), firstErr
}

// Row formats one line of a figures table.
func Row(name string, s *Sample, wall time.Duration) string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %.0f/s |", name, s.Len(), ms(s.Percentile(50)), ms(s.Percentile(95)),
		ms(s.Percentile(99)), float64(s.Len())/wall.Seconds())
}

// Header is the figures table's header.
func Header() string {
	return strings.Join([]string{"| what | calls | p50 | p95 | p99 | throughput |", "| --- | --- | --- | --- | --- | --- |"}, "\n")
}
