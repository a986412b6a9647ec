package evaluation

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable checks every (status, action) pair against the table
// a reviewer reads; every pair not in it answers CONFLICT.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Open:      {Rectify: Rectified, Appeal: Appealed},
		Appealed:  {UpholdAppeal: Voided, RejectAppeal: Open},
		Rectified: {Reevaluate: Closed},
		Closed:    {},
		Voided:    {},
	}
	for from, row := range want {
		for _, a := range []Action{Rectify, Appeal, UpholdAppeal, RejectAppeal, Reevaluate} {
			to, err := Next(from, a, actors[a])
			if exp, ok := row[a]; ok {
				if err != nil || to != exp {
					t.Errorf("%s --%s--> %q, %v; want %s", from, a, to, err, exp)
				}
			} else if models.ErrorCode(err) != models.ECodeConflict {
				t.Errorf("%s --%s--> %q, %v; want CONFLICT", from, a, to, err)
			}
		}
		if from.Label() == "" {
			t.Errorf("%s has no label", from)
		}
	}
}

func TestOnlyTheRightActorMoves(t *testing.T) {
	for _, c := range []struct {
		from   Status
		action Action
		by     Actor
	}{
		{Open, Rectify, Citizen}, {Open, Appeal, Reviewer}, {Appealed, UpholdAppeal, Agency}, {Rectified, Reevaluate, Agency},
	} {
		if _, err := Next(c.from, c.action, c.by); models.ErrorCode(err) != models.ECodeForbidden {
			t.Errorf("%s by %s on %s: %v", c.action, c.by, c.from, err)
		}
	}
}

func TestLevels(t *testing.T) {
	bad := 0
	for _, l := range Levels {
		if !l.Valid() || l.Label() == "" {
			t.Errorf("%s", l)
		}
		if l.Bad() {
			bad++
		}
	}
	if bad != 2 || Level("GOOD").Valid() {
		t.Fatal("levels")
	}
}
