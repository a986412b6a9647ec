package payment

import "testing"

// FuzzParseStatement feeds the statement parser arbitrary files: it never
// panics, and every line it accepts has a known type, a reference and a
// positive amount.
func FuzzParseStatement(f *testing.F) {
	f.Add([]byte(StatementHeader + "\nPAY,T1,P1,100,2026-11-20T10:00:00+08:00\n"))
	f.Add([]byte(StatementHeader + "\n\"PAY\",\"T\"\"1\",P1,1,x\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseStatement(data)
		if err != nil {
			return
		}
		for _, l := range lines {
			if (l.Type != "PAY" && l.Type != "REFUND") || l.Ref == "" || l.AmountFen < 1 {
				t.Fatalf("accepted a bad line: %+v", l)
			}
		}
	})
}
