// Package plans is the checked-in plan catalog, loaded once at start.
package plans

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
)

// Plan is one entry of the catalog.
type Plan struct {
	ID                     string `json:"id"`
	Name                   string `json:"name"`
	SeatCap                int    `json:"seatCap"`
	PendingInvitationLimit int    `json:"pendingInvitationLimit"`
	TrialDays              int    `json:"trialDays"`
	StripePriceID          string `json:"stripePriceId"`
	SelfServeDefault       bool   `json:"selfServeDefault"`
	// SelfServe says a customer may pick the plan at signup. A plan without it (the largest) is
	// sold by sales only: provisionContractTenant may use it, provisionTenant refuses it. Absent
	// in plans.json means false, so a new plan is not sold self-serve by mistake.
	SelfServe bool `json:"selfServe"`
	// GraceDays is how long a tenant on the plan keeps writing after a failed payment (past_due);
	// absent means 0: writes close on the first failed payment. A contract may set its own.
	GraceDays int `json:"graceDays"`
	// PerSeat says the plan's Stripe price is per seat: the subscription item's quantity is the
	// number of seats bought, and sets the tenant's seat cap (SeatCap is the cap until a
	// subscription says otherwise).
	PerSeat bool `json:"perSeat"`
}

// MaxGraceDays bounds a plan's or a contract's past-due grace: a longer one is a payment term
// to negotiate, not a grace.
const MaxGraceDays = 90

// Catalog is the immutable, ordered set of plans.
type Catalog struct {
	plans   []Plan
	byID    map[string]Plan
	byPrice map[string]Plan // by StripePriceID
	def     Plan
}

//go:embed plans.json
var embedded []byte

// Default loads the embedded catalog; it fails only if the checked-in file is broken, which a
// test catches.
func Default() (*Catalog, error) { return Parse(embedded) }

// Parse reads and checks a catalog: unique ids, positive caps, exactly one self-serve default,
// which must itself be self-serve.
func Parse(data []byte) (*Catalog, error) {
	var list []Plan
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("plan catalog: %w", err)
	}
	c := &Catalog{plans: list, byID: make(map[string]Plan, len(list)), byPrice: make(map[string]Plan, len(list))}
	defaults := 0
	for _, p := range list {
		switch {
		case p.ID == "" || p.Name == "":
			return nil, errors.New("plan catalog: every plan needs an id and a name")
		case p.SeatCap < 1 || p.PendingInvitationLimit < 0 || p.TrialDays < 0:
			return nil, fmt.Errorf("plan catalog: plan %q needs seatCap >= 1, pendingInvitationLimit >= 0, trialDays >= 0", p.ID)
		case p.GraceDays < 0 || p.GraceDays > MaxGraceDays:
			return nil, fmt.Errorf("plan catalog: plan %q needs graceDays from 0 to %d", p.ID, MaxGraceDays)
		case p.StripePriceID == "":
			return nil, fmt.Errorf("plan catalog: plan %q has no stripePriceId", p.ID)
		}
		if _, dup := c.byID[p.ID]; dup {
			return nil, fmt.Errorf("plan catalog: plan id %q appears twice", p.ID)
		}
		if other, dup := c.byPrice[p.StripePriceID]; dup {
			// The webhook maps a subscription's price back to its plan: it must be unambiguous.
			return nil, fmt.Errorf("plan catalog: plans %q and %q have the same stripePriceId", other.ID, p.ID)
		}
		c.byID[p.ID] = p
		c.byPrice[p.StripePriceID] = p
		if p.SelfServeDefault {
			if !p.SelfServe {
				return nil, fmt.Errorf("plan catalog: the self-serve default %q must be selfServe", p.ID)
			}
			defaults++
			c.def = p
		}
	}
	if defaults != 1 {
		return nil, fmt.Errorf("plan catalog: exactly one plan must be the self-serve default, found %d", defaults)
	}
	return c, nil
}

// All returns the plans in catalog order.
func (c *Catalog) All() []Plan { return append([]Plan(nil), c.plans...) }

// Get returns a plan by id.
func (c *Catalog) Get(id string) (Plan, bool) {
	p, ok := c.byID[id]
	return p, ok
}

// ForDisplay returns the plan to show for id: the catalog's, or, for a plan retired from the
// catalog, a stand-in named by its id with seatCap (what the tenant or contract recorded), so
// whatever still refers to a retired plan renders.
func (c *Catalog) ForDisplay(id string, seatCap int) Plan {
	if p, ok := c.byID[id]; ok {
		return p
	}
	return Plan{ID: id, Name: id, SeatCap: seatCap}
}

// ByStripePrice returns the plan whose StripePriceID is priceID.
func (c *Catalog) ByStripePrice(priceID string) (Plan, bool) {
	p, ok := c.byPrice[priceID]
	return p, ok
}

// Rank orders plans as the catalog lists them, smallest first; an unknown id ranks -1.
func (c *Catalog) Rank(id string) int {
	for i, p := range c.plans {
		if p.ID == id {
			return i
		}
	}
	return -1
}

// SelfServeDefault is the plan a self-serve signup gets when it names none.
func (c *Catalog) SelfServeDefault() Plan { return c.def }
