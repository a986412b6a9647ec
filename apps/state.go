// Package apps is the service-application life cycle of the application
// management centre (8.2.2 b, 8.2.3, 9.1, 9.3, 9.5): an app is created,
// bound to its source interfaces, given its files, function-tested,
// submitted, reviewed, published to halls with its display settings, taken
// offline (by a reviewer with a reason, or by the platform when its
// interfaces keep failing or it fails a pressure test) and reviewed again
// before it goes back online. This file is the life cycle's state machine.
package apps

import "govmobile/statemachine"

// Status is where an app stands.
type Status string

// The statuses.
const (
	Draft    Status = "DRAFT"    // being prepared, or changed after review
	Pending  Status = "PENDING"  // submitted, waiting for review
	Approved Status = "APPROVED" // reviewed, not yet published
	Rejected Status = "REJECTED" // refused, with a reason
	Online   Status = "ONLINE"   // published to one or more halls
	Offline  Status = "OFFLINE"  // taken offline; re-reviewed before going online
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Draft: "待提交", Pending: "待审核", Approved: "审核通过待上线", Rejected: "未通过",
		Online: "已上线", Offline: "已下线"}[s]
}

// Action is a step.
type Action string

// The steps.
const (
	Edit        Action = "EDIT"         // the owner changes what is reviewed
	Submit      Action = "SUBMIT"       // the owner asks for review
	Approve     Action = "APPROVE"      // a reviewer
	Reject      Action = "REJECT"       // a reviewer, with a reason
	Publish     Action = "PUBLISH"      // a reviewer puts it online in halls
	TakeOffline Action = "TAKE_OFFLINE" // a reviewer, with a reason
	AutoOffline Action = "AUTO_OFFLINE" // the platform (9.5)
)

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Edit: "修改", Submit: "提交审核", Approve: "审核通过", Reject: "驳回", Publish: "发布上线",
		TakeOffline: "下线", AutoOffline: "自动下线"}[a]
}

// Role is who takes a step.
type Role string

// The roles.
const (
	Owner    Role = "OWNER"    // apps.manage
	Reviewer Role = "REVIEWER" // apps.review
	Platform Role = "PLATFORM" // the platform itself
)

var machine = statemachine.Machine[Status, Action, Role]{Subject: "应用", Transitions: map[Status]map[Action]Status{
	Draft:    {Edit: Draft, Submit: Pending},
	Pending:  {Approve: Approved, Reject: Rejected},
	Rejected: {Edit: Draft, Submit: Pending},
	Approved: {Edit: Draft, Publish: Online},
	Online:   {TakeOffline: Offline, AutoOffline: Offline},
	// An app taken offline is changed and reviewed again before it goes
	// back online (9.5).
	Offline: {Edit: Draft, Submit: Pending},
}, Actors: map[Action]Role{Edit: Owner, Submit: Owner, Approve: Reviewer, Reject: Reviewer, Publish: Reviewer,
	TakeOffline: Reviewer, AutoOffline: Platform}}

// Next is where a step takes an app.
func Next(from Status, action Action, by Role) (Status, error) { return machine.Next(from, action, by) }
