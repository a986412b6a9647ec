package exchange_test

import (
	"os"
	"regexp"
	"testing"

	"govmobile/catalogue/exchange"
)

// TestReadmeExamples: every example in README.md imports cleanly on the
// demo catalogue, so the documentation cannot drift from the code.
func TestReadmeExamples(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	db := newDB(t)
	examples := regexp.MustCompile("(?s)<!-- example (\\w+) (\\w+) -->\n```\\w*\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(examples) != 2*len(exchange.Kinds) {
		t.Fatalf("%d examples, want one per kind and format", len(examples))
	}
	for _, ex := range examples {
		kind, format := exchange.Kind(ex[1]), exchange.Format(ex[2])
		rep := importFile(t, db, kind, format, ex[3], exchange.Options{DryRun: true})
		if len(rep.Errors) > 0 || rep.Total == 0 {
			t.Errorf("%s %s example: %+v", kind, format, rep)
		}
	}
}
