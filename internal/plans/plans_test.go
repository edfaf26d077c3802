package plans

import "testing"

func TestDefaultCatalog(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"trial", "starter", "pro", "team", "enterprise"} {
		if _, ok := c.Get(id); !ok {
			t.Errorf("catalog lacks plan %q", id)
		}
	}
	for _, p := range c.All() {
		if got, ok := c.ByStripePrice(p.StripePriceID); !ok || got.ID != p.ID {
			t.Errorf("ByStripePrice(%q) = %q, %v; want plan %q", p.StripePriceID, got.ID, ok, p.ID)
		}
	}
	if _, ok := c.ByStripePrice("price_unknown"); ok {
		t.Error("ByStripePrice found a plan for an unknown price")
	}
	if d := c.SelfServeDefault(); d.ID != "trial" || d.TrialDays != 14 {
		t.Errorf("self-serve default = %+v, want the 14-day trial plan", d)
	}
	// The largest plan is sold by sales only; the others at signup.
	for id, want := range map[string]bool{"trial": true, "starter": true, "pro": true, "team": true, "enterprise": false} {
		if p, _ := c.Get(id); p.SelfServe != want {
			t.Errorf("plan %s: selfServe %v, want %v", id, p.SelfServe, want)
		}
	}
	// Writes close on the first failed payment unless a plan says otherwise; only team is per seat.
	for id, want := range map[string]int{"trial": 0, "starter": 0, "pro": 0, "team": 3, "enterprise": 7} {
		if p, _ := c.Get(id); p.GraceDays != want || p.PerSeat != (id == "team") {
			t.Errorf("plan %s: graceDays %d perSeat %v, want %d and %v", id, p.GraceDays, p.PerSeat, want, id == "team")
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":           `{`,
		"duplicate id":       `[{"id":"a","name":"A","seatCap":1,"trialDays":1,"stripePriceId":"p","selfServeDefault":true,"selfServe":true},{"id":"a","name":"B","seatCap":1,"stripePriceId":"q"}]`,
		"shared price":       `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p","selfServeDefault":true,"selfServe":true},{"id":"b","name":"B","seatCap":1,"stripePriceId":"p"}]`,
		"no default":         `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p"}]`,
		"two defaults":       `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p","selfServeDefault":true,"selfServe":true},{"id":"b","name":"B","seatCap":1,"stripePriceId":"q","selfServeDefault":true,"selfServe":true}]`,
		"zero seats":         `[{"id":"a","name":"A","seatCap":0,"stripePriceId":"p","selfServeDefault":true,"selfServe":true}]`,
		"missing price":      `[{"id":"a","name":"A","seatCap":1,"selfServeDefault":true,"selfServe":true}]`,
		"negative grace":     `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p","selfServeDefault":true,"selfServe":true,"graceDays":-1}]`,
		"grace too long":     `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p","selfServeDefault":true,"selfServe":true,"graceDays":91}]`,
		"sales-only default": `[{"id":"a","name":"A","seatCap":1,"stripePriceId":"p","selfServeDefault":true},{"id":"b","name":"B","seatCap":1,"stripePriceId":"q","selfServe":true}]`,
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		}
	}
}

// A tenant or contract keeps its plan id when the plan leaves the catalog; it must still render.
func TestForDisplay(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	pro, _ := c.Get("pro")
	if got := c.ForDisplay("pro", 3); got != pro {
		t.Errorf("ForDisplay(pro) = %+v, want the catalog's %+v", got, pro)
	}
	want := Plan{ID: "legacy-gold", Name: "legacy-gold", SeatCap: 7}
	if got := c.ForDisplay("legacy-gold", 7); got != want {
		t.Errorf("ForDisplay of a retired plan = %+v, want %+v", got, want)
	}
}
