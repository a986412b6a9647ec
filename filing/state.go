// Package filing is the filing of provincial and departmental mobile
// terminals with the national platform (clause 10): naming, responsible
// unit and installation package, checked for completeness field by field
// and reviewed against the items of 10.3 before the terminal may go
// online. This file is the filing's state machine.
package filing

import "govmobile/statemachine"

// Status is where a filing stands.
type Status string

// The statuses.
const (
	Draft    Status = "DRAFT"    // being written, or changed after review
	Pending  Status = "PENDING"  // complete and submitted
	Approved Status = "APPROVED" // may go online
	Rejected Status = "REJECTED" // refused, with a reason
	Online   Status = "ONLINE"   // released to the app markets
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Draft: "待提交", Pending: "待审核", Approved: "审核通过", Rejected: "未通过", Online: "已上线"}[s]
}

// Action is a step.
type Action string

// The steps.
const (
	Edit     Action = "EDIT"
	Submit   Action = "SUBMIT"
	Approve  Action = "APPROVE"
	Reject   Action = "REJECT"
	GoOnline Action = "GO_ONLINE"
)

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Edit: "修改", Submit: "提交审核", Approve: "审核通过", Reject: "驳回", GoOnline: "上线"}[a]
}

// Role is who takes a step.
type Role string

// The roles.
const (
	Filer    Role = "FILER"    // filings.manage
	Reviewer Role = "REVIEWER" // filings.review
)

var machine = statemachine.Machine[Status, Action, Role]{Subject: "备案", Transitions: map[Status]map[Action]Status{
	Draft:    {Edit: Draft, Submit: Pending},
	Pending:  {Approve: Approved, Reject: Rejected},
	Rejected: {Edit: Draft},
	Approved: {Edit: Draft, GoOnline: Online},
	// A new version or other change is filed and reviewed again.
	Online: {Edit: Draft},
}, Actors: map[Action]Role{Edit: Filer, Submit: Filer, Approve: Reviewer, Reject: Reviewer, GoOnline: Filer}}

// Next is where a step takes a filing.
func Next(from Status, action Action, by Role) (Status, error) { return machine.Next(from, action, by) }
