package apps

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable spells out every status × step: the steps a status
// allows and where they lead; every other step is CONFLICT.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Draft:    {Edit: Draft, Submit: Pending},
		Pending:  {Approve: Approved, Reject: Rejected},
		Rejected: {Edit: Draft, Submit: Pending},
		Approved: {Edit: Draft, Publish: Online},
		Online:   {TakeOffline: Offline, AutoOffline: Offline},
		Offline:  {Edit: Draft, Submit: Pending},
	}
	actor := map[Action]Role{Edit: Owner, Submit: Owner, Approve: Reviewer, Reject: Reviewer, Publish: Reviewer, TakeOffline: Reviewer, AutoOffline: Platform}
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
	// Nothing goes online without review; an owner neither reviews nor
	// publishes; nobody but the platform takes the automatic step.
	if _, err := Next(Draft, Publish, Reviewer); models.ErrorCode(err) != models.ECodeConflict {
		t.Errorf("publish a draft: %v", err)
	}
	if _, err := Next(Offline, Publish, Reviewer); models.ErrorCode(err) != models.ECodeConflict {
		t.Errorf("publish an offline app without review: %v", err)
	}
	for _, c := range []struct {
		a  Action
		by Role
	}{{Approve, Owner}, {Publish, Owner}, {AutoOffline, Reviewer}, {Submit, Reviewer}} {
		if _, err := Next(Online, c.a, c.by); models.ErrorCode(err) != models.ECodeForbidden {
			t.Errorf("%s by %s: %v", c.a, c.by, err)
		}
	}
}
