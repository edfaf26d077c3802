package tenancy

import (
	"context"
	"fmt"
)

// PurgeIdempotencyRecords removes idempotency records past their retention, in pages, and
// reports progress after each page. It is idempotent and safe to interrupt.
func (s *Service) PurgeIdempotencyRecords(ctx context.Context, progress func(deleted int)) (int, error) {
	const page = 300
	now := s.clock.Now()
	total := 0
	for {
		n, err := s.store.DeleteIdempotencyRecordsBefore(ctx, now, page)
		total += n
		if err != nil {
			return total, fmt.Errorf("purge idempotency records: %w", err)
		}
		if progress != nil && n > 0 {
			progress(total)
		}
		if n < page {
			return total, nil
		}
	}
}
