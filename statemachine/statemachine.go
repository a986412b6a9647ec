// Package statemachine is the one shape of every workflow here (cases,
// rectifications, consultations): a table of the steps allowed from each
// status and where each leads, and who may take each step. A step the
// table does not have answers CONFLICT, naming the status; a step by the
// wrong actor answers FORBIDDEN; an unknown step BAD_USER_INPUT.
package statemachine

import "govmobile/models"

// Labeled is a status or action with a Chinese name for messages.
type Labeled interface {
	comparable
	Label() string
}

// Machine is a workflow's table. Subject names what moves (办件, 整改, …)
// in its messages.
type Machine[S Labeled, A Labeled, R comparable] struct {
	Subject     string
	Transitions map[S]map[A]S
	Actors      map[A]R
}

// Next is where action by actor takes something in status from.
func (m *Machine[S, A, R]) Next(from S, action A, by R) (S, error) {
	var zero S
	who, known := m.Actors[action]
	if !known {
		return zero, models.Errorf(models.ECodeBadUserInput, "不支持的%s操作。", m.Subject)
	}
	if who != by {
		return zero, models.Errorf(models.ECodeForbidden, "无权进行这项%s操作。", m.Subject)
	}
	to, ok := m.Transitions[from][action]
	if !ok {
		return zero, models.Errorf(models.ECodeConflict, "%s当前状态为“%s”，不能%s。", m.Subject, from.Label(), action.Label())
	}
	return to, nil
}

// Final reports whether no step leads out of s.
func (m *Machine[S, A, R]) Final(s S) bool { return len(m.Transitions[s]) == 0 }
