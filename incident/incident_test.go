package incident

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable spells out every status × step.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Open:          {Investigate: Investigating, Mitigate: Mitigated, Resolve: Resolved},
		Investigating: {Mitigate: Mitigated, Resolve: Resolved},
		Mitigated:     {Investigate: Investigating, Resolve: Resolved},
		Resolved:      {Reopen: Open},
	}
	for from, row := range want {
		for _, a := range []Action{Investigate, Mitigate, Resolve, Reopen} {
			to, err := Next(from, a)
			if exp, ok := row[a]; ok {
				if err != nil || to != exp {
					t.Errorf("%s --%s--> %q, %v; want %s", from, a, to, err, exp)
				}
			} else if models.ErrorCode(err) != models.ECodeConflict {
				t.Errorf("%s --%s--> %q, %v; want CONFLICT", from, a, to, err)
			}
		}
	}
	if _, err := Next(Open, Comment); models.ErrorCode(err) != models.ECodeBadUserInput {
		t.Errorf("a comment is no step: %v", err)
	}
}

// TestKindsCoverAlerts: every interface alert outcome opens an incident of
// a known kind.
func TestKindsCoverAlerts(t *testing.T) {
	for _, o := range []string{"SLOW", "FAILED", "TIMEOUT"} {
		if !one(Kinds, "INTERFACE_"+o) {
			t.Errorf("no incident kind for alert %s", o)
		}
	}
}
