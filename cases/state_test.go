package cases

import (
	"testing"

	"govmobile/models"
)

var allStatuses = []Status{Draft, Submitted, Accepted, Processing, NeedsSupplement, Completed, Rejected, Withdrawn}
var allActions = []Action{Submit, Withdraw, Supply, Accept, RequestSupplement, Process, Complete, Reject}

// TestTransitionTable checks every (status, action) pair of the machine
// against the table a reviewer reads: the allowed steps lead where the
// table says, every other pair answers CONFLICT.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Draft:           {Submit: Submitted},
		Submitted:       {Withdraw: Withdrawn, Accept: Accepted, RequestSupplement: NeedsSupplement, Reject: Rejected},
		Accepted:        {Process: Processing, RequestSupplement: NeedsSupplement, Reject: Rejected},
		Processing:      {Complete: Completed, RequestSupplement: NeedsSupplement, Reject: Rejected},
		NeedsSupplement: {Supply: Submitted, Reject: Rejected},
		Completed:       {},
		Rejected:        {},
		Withdrawn:       {},
	}
	for _, from := range allStatuses {
		for _, a := range allActions {
			to, err := Next(from, a, actors[a])
			if exp, ok := want[from][a]; ok {
				if err != nil || to != exp {
					t.Errorf("%s --%s--> %q, %v; want %s", from, a, to, err, exp)
				}
				continue
			}
			if models.ErrorCode(err) != models.ECodeConflict {
				t.Errorf("%s --%s--> %q, %v; want CONFLICT", from, a, to, err)
			}
		}
	}
	for _, s := range []Status{Completed, Rejected, Withdrawn} {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
	}
}

func TestOnlyTheRightActorMoves(t *testing.T) {
	cases := []struct {
		from   Status
		action Action
		by     Actor
	}{
		{Submitted, Accept, Applicant},    // an applicant cannot accept their own case
		{Processing, Complete, Applicant}, // nor complete it
		{Submitted, Withdraw, Staff},      // staff cannot withdraw for the applicant
		{Draft, Submit, Staff},
	}
	for _, c := range cases {
		if _, err := Next(c.from, c.action, c.by); models.ErrorCode(err) != models.ECodeForbidden {
			t.Errorf("%s by %s from %s: %v, want FORBIDDEN", c.action, c.by, c.from, err)
		}
	}
	if _, err := Next(Submitted, Action("DELETE"), Staff); models.ErrorCode(err) != models.ECodeBadUserInput {
		t.Errorf("unknown action: %v", err)
	}
}

func TestConflictMessagesAreChinese(t *testing.T) {
	_, err := Next(Completed, Withdraw, Applicant)
	if err == nil || !containsHan(err.Error()) {
		t.Errorf("withdrawing a completed case: %v", err)
	}
}

func containsHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
