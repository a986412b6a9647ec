package logistics

import (
	"testing"
	"time"
)

// TestMoves checks the rule that keeps a shipment's status from going
// backwards when the carrier's events arrive late or out of order.
func TestMoves(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	before, after := t0.Add(-time.Hour), t0.Add(time.Hour)
	cases := []struct {
		name       string
		cur, stage Status
		ev         Status
		at         time.Time
		moves      bool
	}{
		{"next step", Created, Created, PickedUp, after, true},
		{"skipped steps", PickedUp, PickedUp, OutForDelivery, after, true},
		{"older step late", OutForDelivery, OutForDelivery, InTransit, before, false},
		{"older step stamped later", OutForDelivery, OutForDelivery, PickedUp, after, false},
		{"same status again", InTransit, InTransit, InTransit, after, false},
		{"created from carrier", PickedUp, PickedUp, Created, after, false},
		{"delivered from anywhere", PickedUp, PickedUp, Delivered, before, true},
		{"returned during exception", Exception, InTransit, Returned, before, true},
		{"nothing after delivered", Delivered, Delivered, Exception, after, false},
		{"nothing after returned", Returned, InTransit, Delivered, after, false},
		{"nothing after cancelled", Cancelled, Created, PickedUp, after, false},
		{"exception newer", InTransit, InTransit, Exception, after, true},
		{"exception same instant", InTransit, InTransit, Exception, t0, true},
		{"exception older", OutForDelivery, OutForDelivery, Exception, before, false},
		{"exception right after order, skewed clock", Created, Created, Exception, before, true},
		{"resume after exception", Exception, InTransit, InTransit, after, true},
		{"further after exception", Exception, InTransit, OutForDelivery, after, true},
		{"step older than exception", Exception, InTransit, OutForDelivery, before, false},
		{"behind the point reached", Exception, OutForDelivery, InTransit, after, false},
		{"unknown status", InTransit, InTransit, Status("LOST"), after, false},
	}
	for _, c := range cases {
		if got := Moves(c.cur, c.stage, t0, c.ev, c.at); got != c.moves {
			t.Errorf("%s: Moves(%s, %s, t0, %s, %v) = %v; want %v", c.name, c.cur, c.stage, c.ev, c.at.Sub(t0), got, c.moves)
		}
	}
}

func TestStatusSets(t *testing.T) {
	for _, s := range []Status{Created, PickedUp, InTransit, OutForDelivery, Delivered, Exception, Returned, Cancelled} {
		if !s.Valid() || s.Label() == string(s) {
			t.Errorf("%s: valid %v, label %q", s, s.Valid(), s.Label())
		}
		if want := s == Delivered || s == Returned || s == Cancelled; s.Final() != want {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
	if Status("").Valid() || Status("created").Valid() {
		t.Error("an unknown status is valid")
	}
}

func TestMaskAddress(t *testing.T) {
	cases := map[string]string{
		"":              "",
		"东城路1号":         "东城****",
		"朝阳路100号政务服务中心": "朝阳路100****",
		"  建国门外大街1号国贸大厦A座3层  ": "建国门外大街****",
		"No. 5 Road": "No. 5****",
	}
	for in, want := range cases {
		if got := MaskAddress(in); got != want {
			t.Errorf("MaskAddress(%q) = %q; want %q", in, got, want)
		}
	}
}
