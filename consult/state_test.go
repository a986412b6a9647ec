package consult

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable checks every (status, action) pair against the table
// a reviewer reads; every other pair answers CONFLICT.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Draft:     {Submit: Submitted},
		Submitted: {Assign: Assigned},
		Assigned:  {Assign: Assigned, Reply: Replied},
		Replied:   {Close: Closed},
		Closed:    {},
	}
	for from, row := range want {
		for _, a := range []Action{Submit, Assign, Reply, Close} {
			to, err := Next(from, a, actors[a])
			if exp, ok := row[a]; ok {
				if err != nil || to != exp {
					t.Errorf("%s --%s--> %q, %v; want %s", from, a, to, err, exp)
				}
			} else if models.ErrorCode(err) != models.ECodeConflict {
				t.Errorf("%s --%s--> %q, %v; want CONFLICT", from, a, to, err)
			}
		}
	}
	if _, err := Next(Submitted, Assign, Citizen); models.ErrorCode(err) != models.ECodeForbidden {
		t.Errorf("a citizen assigns: %v", err)
	}
	if _, err := Next(Draft, Submit, Staff); models.ErrorCode(err) != models.ECodeForbidden {
		t.Errorf("staff submit: %v", err)
	}
}
