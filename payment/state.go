package payment

import "govmobile/statemachine"

// Status is where a payment order stands.
type Status string

// The statuses of a payment order.
const (
	Unpaid            Status = "UNPAID"             // issued, waiting for the applicant to pay
	Paid              Status = "PAID"               // the channel confirmed the payment
	PartiallyRefunded Status = "PARTIALLY_REFUNDED" // part of the money was returned
	Refunded          Status = "REFUNDED"           // all of the money was returned
	Closed            Status = "CLOSED"             // expired or cancelled unpaid
)

// Action is a step of an order.
type Action string

// The steps of an order.
const (
	ConfirmPayment Action = "CONFIRM_PAYMENT" // the channel's notification or query says paid
	Cancel         Action = "CANCEL"          // the agency withdraws an unpaid order
	Expire         Action = "EXPIRE"          // the order's time ran out unpaid
	RefundPart     Action = "REFUND_PART"     // a refund leaves some money
	RefundAll      Action = "REFUND_ALL"      // a refund returns the rest
)

// Actor is who takes a step.
type Actor string

// The actors.
const (
	ChannelActor  Actor = "CHANNEL"  // the payment channel, by a verified notification or query
	AgencyActor   Actor = "AGENCY"   // the order's agency
	PlatformActor Actor = "PLATFORM" // the platform itself (expiry)
)

// machine is the whole life of an order. A payment the channel confirms for
// a closed order is still money received: the order becomes paid (the
// channel is the authority on money) and the agency refunds it if the case
// no longer needs it.
var machine = statemachine.Machine[Status, Action, Actor]{Subject: "缴费订单", Transitions: map[Status]map[Action]Status{
	Unpaid:            {ConfirmPayment: Paid, Cancel: Closed, Expire: Closed},
	Closed:            {ConfirmPayment: Paid},
	Paid:              {RefundPart: PartiallyRefunded, RefundAll: Refunded},
	PartiallyRefunded: {RefundPart: PartiallyRefunded, RefundAll: Refunded},
}, Actors: map[Action]Actor{
	ConfirmPayment: ChannelActor, Cancel: AgencyActor, Expire: PlatformActor, RefundPart: AgencyActor, RefundAll: AgencyActor,
}}

// Next is where action by actor takes an order in status from.
func Next(from Status, action Action, by Actor) (Status, error) {
	return machine.Next(from, action, by)
}

// Label is the status in Chinese.
func (s Status) Label() string {
	switch s {
	case Unpaid:
		return "待缴费"
	case Paid:
		return "已缴费"
	case PartiallyRefunded:
		return "部分退款"
	case Refunded:
		return "已退款"
	case Closed:
		return "已关闭"
	}
	return string(s)
}

// Label is the step in Chinese.
func (a Action) Label() string {
	switch a {
	case ConfirmPayment:
		return "确认缴费"
	case Cancel:
		return "撤销"
	case Expire:
		return "超时关闭"
	case RefundPart, RefundAll:
		return "退款"
	}
	return string(a)
}
