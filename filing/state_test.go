package filing

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable spells out every status × step.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Draft:    {Edit: Draft, Submit: Pending},
		Pending:  {Approve: Approved, Reject: Rejected},
		Rejected: {Edit: Draft},
		Approved: {Edit: Draft, GoOnline: Online},
		Online:   {Edit: Draft},
	}
	actor := map[Action]Role{Edit: Filer, Submit: Filer, Approve: Reviewer, Reject: Reviewer, GoOnline: Filer}
	for from, row := range want {
		for a, by := range actor {
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
	if _, err := Next(Draft, GoOnline, Filer); models.ErrorCode(err) != models.ECodeConflict {
		t.Errorf("online without review: %v", err)
	}
	if _, err := Next(Pending, Approve, Filer); models.ErrorCode(err) != models.ECodeForbidden {
		t.Errorf("a filer approves: %v", err)
	}
}
