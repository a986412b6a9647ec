// Package iface is the interface management subsystem (8.2.2 a; 9.4): apps'
// source interfaces are registered with the parameters of the standard's
// example 7, tested for connectivity (the request and the raw response
// shown, the result envelope read), checked against the sensitive-word
// list, and reviewed before they may be used. This file is the review's
// state machine.
package iface

import "govmobile/statemachine"

// Status is where an interface stands.
type Status string

// The statuses.
const (
	Draft    Status = "DRAFT"    // registered or changed, not submitted
	Pending  Status = "PENDING"  // waiting for review
	Approved Status = "APPROVED" // may be used
	Rejected Status = "REJECTED" // refused, with a reason
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Draft: "待提交", Pending: "待审核", Approved: "已通过", Rejected: "未通过"}[s]
}

// Action is a step.
type Action string

// The steps.
const (
	Edit    Action = "EDIT"    // the registrant changes it: back to draft
	Submit  Action = "SUBMIT"  // the registrant submits it for review
	Approve Action = "APPROVE" // a reviewer
	Reject  Action = "REJECT"  // a reviewer, with a reason
)

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Edit: "修改", Submit: "提交审核", Approve: "审核通过", Reject: "驳回"}[a]
}

// Role is who takes a step.
type Role string

// The roles.
const (
	Registrant Role = "REGISTRANT"
	Reviewer   Role = "REVIEWER"
)

var machine = statemachine.Machine[Status, Action, Role]{Subject: "接口", Transitions: map[Status]map[Action]Status{
	Draft:    {Edit: Draft, Submit: Pending},
	Pending:  {Approve: Approved, Reject: Rejected},
	Rejected: {Edit: Draft},
	Approved: {Edit: Draft},
}, Actors: map[Action]Role{Edit: Registrant, Submit: Registrant, Approve: Reviewer, Reject: Reviewer}}

// Next is where a step takes an interface.
func Next(from Status, action Action, by Role) (Status, error) { return machine.Next(from, action, by) }
