// Package consult keeps consultations, complaints and suggestions (咨询投诉,
// 8.1.2 d): a citizen drafts, edits and submits one about a matter or an
// agency, having been shown similar knowledge-base answers; the agency's
// staff assign, reply and close; the citizen follows every step and rates
// the reply. This file is the state machine, in one place.
package consult

import "govmobile/statemachine"

// Kind is what a citizen writes.
type Kind string

// The kinds.
const (
	Consultation Kind = "CONSULTATION" // 咨询
	Complaint    Kind = "COMPLAINT"    // 投诉
	Suggestion   Kind = "SUGGESTION"   // 建议
)

// Label is the kind's Chinese name.
func (k Kind) Label() string {
	return map[Kind]string{Consultation: "咨询", Complaint: "投诉", Suggestion: "建议"}[k]
}

// Status is where a consultation stands.
type Status string

// The statuses.
const (
	Draft     Status = "DRAFT"     // the citizen's, not submitted
	Submitted Status = "SUBMITTED" // waiting for the agency
	Assigned  Status = "ASSIGNED"  // a staff member handles it
	Replied   Status = "REPLIED"   // the agency has answered
	Closed    Status = "CLOSED"    // done
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Draft: "草稿", Submitted: "已提交", Assigned: "已分派", Replied: "已答复", Closed: "已办结"}[s]
}

// Action is a step.
type Action string

// The steps, and who takes them.
const (
	Submit Action = "SUBMIT" // the citizen
	Assign Action = "ASSIGN" // the agency's staff
	Reply  Action = "REPLY"  // the agency's staff
	Close  Action = "CLOSE"  // the agency's staff
)

// Actor is who takes a step.
type Actor string

// The actors.
const (
	Citizen Actor = "CITIZEN"
	Staff   Actor = "STAFF"
)

// transitions is the whole machine. An assigned consultation may be
// assigned again (to another staff member); a consultation is closed once
// answered.
var machine = statemachine.Machine[Status, Action, Actor]{Subject: "咨询投诉", Transitions: map[Status]map[Action]Status{
	Draft:     {Submit: Submitted},
	Submitted: {Assign: Assigned},
	Assigned:  {Assign: Assigned, Reply: Replied},
	Replied:   {Close: Closed},
}, Actors: map[Action]Actor{Submit: Citizen, Assign: Staff, Reply: Staff, Close: Staff}}

var actors = machine.Actors

// Next is where action by actor takes a consultation in status from: an
// illegal step is CONFLICT, the wrong actor FORBIDDEN.
func Next(from Status, action Action, by Actor) (Status, error) {
	return machine.Next(from, action, by)
}

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Submit: "提交", Assign: "分派", Reply: "答复", Close: "办结"}[a]
}
