package payment

import (
	"testing"

	"govmobile/models"
)

// TestTransitionTable spells out every status × step: money is confirmed
// only by the channel, refunded only by the agency, and nothing leaves a
// fully refunded order.
func TestTransitionTable(t *testing.T) {
	want := map[Status]map[Action]Status{
		Unpaid:            {ConfirmPayment: Paid, Cancel: Closed, Expire: Closed},
		Closed:            {ConfirmPayment: Paid},
		Paid:              {RefundPart: PartiallyRefunded, RefundAll: Refunded},
		PartiallyRefunded: {RefundPart: PartiallyRefunded, RefundAll: Refunded},
		Refunded:          {},
	}
	actor := map[Action]Actor{ConfirmPayment: ChannelActor, Cancel: AgencyActor, Expire: PlatformActor, RefundPart: AgencyActor, RefundAll: AgencyActor}
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
	if _, err := Next(Unpaid, ConfirmPayment, AgencyActor); models.ErrorCode(err) != models.ECodeForbidden {
		t.Errorf("an agency confirms a payment: %v", err)
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{0: "0.00", 1: "0.01", 99: "0.99", 100: "1.00", 5100: "51.00", 123456789: "1234567.89", -1550: "-15.50"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestParseStatement(t *testing.T) {
	good := StatementHeader + "\nPAY,T1,P1,100,2026-11-20T10:00:00+08:00\nREFUND,R1,P1,50,2026-11-20T11:00:00+08:00\n"
	lines, err := ParseStatement([]byte(good))
	if err != nil || len(lines) != 2 || lines[1].Type != "REFUND" || lines[1].AmountFen != 50 {
		t.Fatalf("good statement: %+v %v", lines, err)
	}
	for name, bad := range map[string]string{
		"no header":       "PAY,T1,P1,100,x\n",
		"another header":  "a,b,c,d,e\nPAY,T1,P1,100,x\n",
		"zero amount":     StatementHeader + "\nPAY,T1,P1,0,x\n",
		"decimal amount":  StatementHeader + "\nPAY,T1,P1,1.00,x\n",
		"unknown type":    StatementHeader + "\nFEE,T1,P1,100,x\n",
		"empty reference": StatementHeader + "\nPAY,,P1,100,x\n",
		"short line":      StatementHeader + "\nPAY,T1,P1,100\n",
	} {
		if _, err := ParseStatement([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseDay(t *testing.T) {
	for _, bad := range []string{"", "2026-1-01", "2026-13-01", "2026-02-30", "20261101", "2026-11-01T00:00:00Z"} {
		if _, err := ParseDay(bad); models.ErrorCode(err) != models.ECodeBadUserInput {
			t.Errorf("ParseDay(%q): %v", bad, err)
		}
	}
	d, err := ParseDay("2026-11-20")
	if err != nil || d.UTC().Format("2006-01-02T15") != "2026-11-19T16" {
		t.Fatalf("ParseDay: %v %v", d, err)
	}
}
