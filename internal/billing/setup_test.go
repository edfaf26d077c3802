package billing

import (
	"testing"
	"time"
)

// What the billing setup saves never overwrites what a webhook event recorded first.
func TestSetupSavesAroundEvents(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created, periodEnd := at.Add(-time.Minute), at.Add(30*24*time.Hour)
	sub := Subscription{ID: "sub_1", CustomerID: "cus_1", Status: SubTrialing, Created: created, CurrentPeriodEnd: periodEnd, CancelAtPeriodEnd: true}

	t.Run("the first customer stands", func(t *testing.T) {
		r, changed := Record{}.withCustomer("cus_1", at)
		if !changed || r.CustomerID != "cus_1" || !r.UpdatedAt.Equal(at) {
			t.Fatalf("%+v changed=%v", r, changed)
		}
		if r2, changed := r.withCustomer("cus_2", at.Add(time.Second)); changed || r2.CustomerID != "cus_1" || !r2.UpdatedAt.Equal(at) {
			t.Errorf("a second customer replaced the first: %+v changed=%v", r2, changed)
		}
	})
	t.Run("before any event, the creation answer is taken", func(t *testing.T) {
		r := Record{Status: RecordPending}.withSubscription(sub, at)
		if r.Status != RecordReady || !r.SetupAt.Equal(at) || r.CustomerID != "cus_1" || r.SubscriptionID != "sub_1" ||
			!r.SubscriptionSince.Equal(created) || r.StripeStatus != SubTrialing || !r.CurrentPeriodEnd.Equal(periodEnd) || !r.CancelAtPeriodEnd {
			t.Errorf("%+v", r)
		}
		noDate := sub
		noDate.Created = time.Time{}
		if r := (Record{}).withSubscription(noDate, at); !r.SubscriptionSince.Equal(at) {
			t.Errorf("since %s, want the save's time when Stripe gave none", r.SubscriptionSince)
		}
	})
	t.Run("an event about the subscription wins", func(t *testing.T) {
		seen := Record{
			CustomerID: "cus_1", SubscriptionID: "sub_1", SubscriptionSince: created.Add(time.Second), StripeStatus: SubActive,
			EventClock: map[string]time.Time{"sub_1": created.Add(time.Second)},
		}
		r := seen.withSubscription(sub, at)
		if r.Status != RecordReady || r.StripeStatus != SubActive || r.CancelAtPeriodEnd || !r.CurrentPeriodEnd.IsZero() ||
			!r.SubscriptionSince.Equal(seen.SubscriptionSince) {
			t.Errorf("%+v; want the event's state kept", r)
		}
	})
	t.Run("a subscription adopted from Checkout stays the current one", func(t *testing.T) {
		other := Record{CustomerID: "cus_1", SubscriptionID: "sub_2", StripeStatus: SubActive}
		r := other.withSubscription(sub, at)
		if r.SubscriptionID != "sub_2" || r.StripeStatus != SubActive || r.CancelAtPeriodEnd {
			t.Errorf("%+v; want sub_2 and its state kept", r)
		}
	})
}
