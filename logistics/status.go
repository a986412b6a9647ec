package logistics

import (
	"time"

	"govmobile/logistics/carrier"
)

// Status is where a shipment stands. The values are the carrier's
// vocabulary (package carrier), so an event's status is read as is.
type Status string

// The statuses of a shipment.
const (
	Created        Status = carrier.Created
	PickedUp       Status = carrier.PickedUp
	InTransit      Status = carrier.InTransit
	OutForDelivery Status = carrier.OutForDelivery
	Delivered      Status = carrier.Delivered
	Exception      Status = carrier.Exception
	Returned       Status = carrier.Returned
	Cancelled      Status = carrier.Cancelled
)

// stage orders the normal route; EXCEPTION and the ends are off it.
var stage = map[Status]int{Created: 0, PickedUp: 1, InTransit: 2, OutForDelivery: 3}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	_, onRoute := stage[s]
	return onRoute || s == Exception || s.Final()
}

// Final reports whether the shipment has ended: nothing moves it any more.
func (s Status) Final() bool { return s == Delivered || s == Returned || s == Cancelled }

// Label is the status in Chinese, as citizens see it.
func (s Status) Label() string {
	switch s {
	case Created:
		return "已下单"
	case PickedUp:
		return "已揽收"
	case InTransit:
		return "运输中"
	case OutForDelivery:
		return "派送中"
	case Delivered:
		return "已签收"
	case Exception:
		return "异常"
	case Returned:
		return "已退回"
	case Cancelled:
		return "已取消"
	}
	return string(s)
}

// Moves reports whether an event of status ev that happened at `at` moves
// a shipment now in status cur (since curAt), whose furthest point on the
// normal route is reached. Carriers deliver webhooks late and out of order;
// the rule keeps the status from going backwards:
//
//   - an ended shipment never moves, and an event repeating the current
//     status changes nothing;
//   - DELIVERED, RETURNED and CANCELLED end it whenever they happened: they
//     are the carrier's last word;
//   - EXCEPTION moves it unless it is older than the current status;
//   - a step of the route moves it when it is further than the current
//     one, or, during an exception, when it resumes at or past the point
//     reached and is newer than the exception.
func Moves(cur, reached Status, curAt time.Time, ev Status, at time.Time) bool {
	switch {
	case cur.Final(), ev == cur, !ev.Valid():
		return false
	case ev.Final():
		return true
	case ev == Exception:
		// Nothing the carrier did is older than the order: a skewed
		// clock must not hide an exception just after creation.
		return cur == Created || !at.Before(curAt)
	case cur == Exception:
		return stage[ev] >= stage[reached] && !at.Before(curAt)
	}
	return stage[ev] > stage[cur]
}
