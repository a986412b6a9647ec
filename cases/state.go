// Package cases keeps online applications and their cases (办件, 8.1.2 a;
// 8.4): application forms and their validation (form.go), drafts,
// submission, withdrawal, supplements and the agency's handling
// (cases.go). This file is the state machine: every status a case can be
// in, and every step that moves it, in one place. It never lets a user see
// another user's case, or staff another agency's.
package cases

import "govmobile/statemachine"

// Status is where a case stands.
type Status string

// The statuses of a case.
const (
	Draft           Status = "DRAFT"            // saved by the applicant, not submitted
	Submitted       Status = "SUBMITTED"        // submitted, awaiting acceptance
	Accepted        Status = "ACCEPTED"         // accepted by the agency
	Processing      Status = "PROCESSING"       // being handled
	NeedsSupplement Status = "NEEDS_SUPPLEMENT" // the agency asked for more materials
	Completed       Status = "COMPLETED"        // done, with a result document
	Rejected        Status = "REJECTED"         // refused, with a reason
	Withdrawn       Status = "WITHDRAWN"        // withdrawn by the applicant before acceptance
)

// Action is a step that moves a case.
type Action string

// The actions on a case, and who takes them.
const (
	Submit            Action = "SUBMIT"             // applicant
	Withdraw          Action = "WITHDRAW"           // applicant
	Supply            Action = "SUPPLY"             // applicant
	Accept            Action = "ACCEPT"             // agency staff
	RequestSupplement Action = "REQUEST_SUPPLEMENT" // agency staff
	Process           Action = "PROCESS"            // agency staff
	Complete          Action = "COMPLETE"           // agency staff
	Reject            Action = "REJECT"             // agency staff
)

// Actor is who takes an action.
type Actor string

// The actors.
const (
	Applicant Actor = "APPLICANT"
	Staff     Actor = "STAFF"
)

// machine is the whole workflow: from each status, the actions allowed and
// where each leads, and who takes each. Supplied materials go back to
// acceptance.
var machine = statemachine.Machine[Status, Action, Actor]{Subject: "办件", Transitions: map[Status]map[Action]Status{
	Draft:           {Submit: Submitted},
	Submitted:       {Withdraw: Withdrawn, Accept: Accepted, RequestSupplement: NeedsSupplement, Reject: Rejected},
	Accepted:        {Process: Processing, RequestSupplement: NeedsSupplement, Reject: Rejected},
	Processing:      {Complete: Completed, RequestSupplement: NeedsSupplement, Reject: Rejected},
	NeedsSupplement: {Supply: Submitted, Reject: Rejected},
}, Actors: map[Action]Actor{
	Submit: Applicant, Withdraw: Applicant, Supply: Applicant,
	Accept: Staff, RequestSupplement: Staff, Process: Staff, Complete: Staff, Reject: Staff,
}}

// actors says who may take each action.
var actors = machine.Actors

// Final reports whether no action leads out of s.
func (s Status) Final() bool { return machine.Final(s) }

// Next is where action by actor takes a case in status from. A step the
// machine does not have answers CONFLICT, saying what the case's status
// allows; an action by the wrong actor answers FORBIDDEN.
func Next(from Status, action Action, by Actor) (Status, error) {
	return machine.Next(from, action, by)
}

// Label is the status in Chinese, as citizens see it.
func (s Status) Label() string {
	switch s {
	case Draft:
		return "草稿"
	case Submitted:
		return "已提交"
	case Accepted:
		return "已受理"
	case Processing:
		return "办理中"
	case NeedsSupplement:
		return "待补正"
	case Completed:
		return "已办结"
	case Rejected:
		return "不予受理"
	case Withdrawn:
		return "已撤回"
	}
	return string(s)
}

// Label is the action in Chinese.
func (a Action) Label() string {
	switch a {
	case Submit:
		return "提交"
	case Withdraw:
		return "撤回"
	case Supply:
		return "补正材料"
	case Accept:
		return "受理"
	case RequestSupplement:
		return "要求补正"
	case Process:
		return "办理"
	case Complete:
		return "办结"
	case Reject:
		return "不予受理"
	}
	return string(a)
}
