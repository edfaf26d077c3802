package faults

import (
	"context"
	"fmt"

	"cloud.google.com/go/firestore"
)

// CounterDrift compares a tenant's seatsUsed and pendingInvitations with its member and pending
// invitation documents, and their sum with its seat cap. It returns "" when they agree, and what
// disagrees otherwise.
func CounterDrift(ctx context.Context, fs *firestore.Client, tenantID string) (string, error) {
	tenant := fs.Collection("tenants").Doc(tenantID)
	snap, err := tenant.Get(ctx)
	if err != nil {
		return "", fmt.Errorf("read tenant %s: %w", tenantID, err)
	}
	members, err := tenant.Collection("members").Documents(ctx).GetAll()
	if err != nil {
		return "", fmt.Errorf("list the members of %s: %w", tenantID, err)
	}
	pending, err := tenant.Collection("invitations").Where("status", "==", "pending").Documents(ctx).GetAll()
	if err != nil {
		return "", fmt.Errorf("list the pending invitations of %s: %w", tenantID, err)
	}
	d := snap.Data()
	seats, _ := d["seatsUsed"].(int64)
	pend, _ := d["pendingInvitations"].(int64)
	seatCap, _ := d["seatCap"].(int64)
	switch {
	case seats != int64(len(members)) || pend != int64(len(pending)):
		return fmt.Sprintf("tenant %s: seatsUsed %d for %d members, pendingInvitations %d for %d pending invitations",
			tenantID, seats, len(members), pend, len(pending)), nil
	case int64(len(members)+len(pending)) > seatCap:
		return fmt.Sprintf("tenant %s: %d members and %d pending invitations exceed the seat cap %d",
			tenantID, len(members), len(pending), seatCap), nil
	}
	return "", nil
}
