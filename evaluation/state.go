// Package evaluation keeps 好差评 (8.1.2 e; 8.3.1 b; 8.3.2 f): citizens rate
// finished cases and service applications on five levels; a bad rating
// opens a rectification (整改) that the agency handles by a deadline, after
// which the citizen may rate again; an agency may appeal a malicious rating
// for an administrator's re-check. This file is the rectification's state
// machine, in one place.
package evaluation

import "govmobile/statemachine"

// Level is a rating.
type Level string

// The five levels, best first.
const (
	VerySatisfied      Level = "VERY_SATISFIED"      // 非常满意
	Satisfied          Level = "SATISFIED"           // 满意
	BasicallySatisfied Level = "BASICALLY_SATISFIED" // 基本满意
	Dissatisfied       Level = "DISSATISFIED"        // 不满意
	VeryDissatisfied   Level = "VERY_DISSATISFIED"   // 非常不满意
)

// Levels are the levels, best first.
var Levels = []Level{VerySatisfied, Satisfied, BasicallySatisfied, Dissatisfied, VeryDissatisfied}

// Label is the level's Chinese name.
func (l Level) Label() string {
	return map[Level]string{VerySatisfied: "非常满意", Satisfied: "满意", BasicallySatisfied: "基本满意",
		Dissatisfied: "不满意", VeryDissatisfied: "非常不满意"}[l]
}

// Valid reports whether l is one of the five levels.
func (l Level) Valid() bool { return l.Label() != "" }

// Bad reports whether the level opens a rectification (差评).
func (l Level) Bad() bool { return l == Dissatisfied || l == VeryDissatisfied }

// Status is where a rectification stands.
type Status string

// The statuses of a rectification.
const (
	Open      Status = "OPEN"      // waiting for the agency
	Rectified Status = "RECTIFIED" // the agency recorded its measures and reply
	Appealed  Status = "APPEALED"  // the agency says the review is malicious
	Closed    Status = "CLOSED"    // the citizen rated again
	Voided    Status = "VOIDED"    // the appeal was upheld: the review does not count
)

// Action is a step on a rectification.
type Action string

// The steps, and who takes them.
const (
	Rectify      Action = "RECTIFY"       // the agency
	Appeal       Action = "APPEAL"        // the agency
	UpholdAppeal Action = "UPHOLD_APPEAL" // a platform administrator
	RejectAppeal Action = "REJECT_APPEAL" // a platform administrator
	Reevaluate   Action = "REEVALUATE"    // the citizen
)

// Actor is who takes a step.
type Actor string

// The actors.
const (
	Citizen  Actor = "CITIZEN"
	Agency   Actor = "AGENCY"
	Reviewer Actor = "REVIEWER"
)

// transitions is the whole machine. A rejected appeal sends the
// rectification back to the agency; an agency may appeal only before it
// has rectified.
var machine = statemachine.Machine[Status, Action, Actor]{Subject: "整改", Transitions: map[Status]map[Action]Status{
	Open:      {Rectify: Rectified, Appeal: Appealed},
	Appealed:  {UpholdAppeal: Voided, RejectAppeal: Open},
	Rectified: {Reevaluate: Closed},
}, Actors: map[Action]Actor{
	Rectify: Agency, Appeal: Agency, UpholdAppeal: Reviewer, RejectAppeal: Reviewer, Reevaluate: Citizen,
}}

var actors = machine.Actors

// Next is where action by actor takes a rectification in status from: an
// illegal step is CONFLICT, the wrong actor FORBIDDEN.
func Next(from Status, action Action, by Actor) (Status, error) {
	return machine.Next(from, action, by)
}

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Open: "待整改", Rectified: "已整改", Appealed: "申诉复核中", Closed: "已重新评价", Voided: "申诉成立、评价作废"}[s]
}

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Rectify: "登记整改", Appeal: "提出申诉", UpholdAppeal: "认定申诉成立", RejectAppeal: "驳回申诉", Reevaluate: "重新评价"}[a]
}

// Score is the level as a number for statistics: 5 for very satisfied
// down to 1 for very dissatisfied; 0 for an unknown level.
func (l Level) Score() int64 {
	for i, v := range Levels {
		if v == l {
			return int64(len(Levels) - i)
		}
	}
	return 0
}
