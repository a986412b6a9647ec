package iface

import (
	"testing"

	"govmobile/models"
)

func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Draft:    {Edit: Draft, Submit: Pending},
		Pending:  {Approve: Approved, Reject: Rejected},
		Rejected: {Edit: Draft},
		Approved: {Edit: Draft},
	}
	for from, row := range want {
		for _, a := range []Action{Edit, Submit, Approve, Reject} {
			by := Registrant
			if a == Approve || a == Reject {
				by = Reviewer
			}
			to, err := Next(from, a, by)
			if exp, ok := row[a]; ok {
				if err != nil || to != exp {
					t.Errorf("%s --%s--> %q, %v; want %s", from, a, to, err, exp)
				}
			} else if models.ErrorCode(err) != models.ECodeConflict {
				t.Errorf("%s --%s--> %q, %v; want CONFLICT", from, a, to, err)
			}
		}
	}
	if _, err := Next(Pending, Approve, Registrant); models.ErrorCode(err) != models.ECodeForbidden {
		t.Errorf("a registrant approves: %v", err)
	}
}
