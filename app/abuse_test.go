package app_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestAliasFlood (issue 9): a query asking one field under a thousand names
// is refused before it runs, with a Chinese message; a hundred are fine.
func TestAliasFlood(t *testing.T) {
	b := allBackends(t)[0]
	query := func(n int) []byte {
		var q strings.Builder
		q.WriteString("{")
		for i := range n {
			fmt.Fprintf(&q, "a%d: __typename ", i)
		}
		q.WriteString("}")
		return []byte(fmt.Sprintf(`{"query":%q}`, q.String()))
	}
	if r := b.post(t, query(100), nil); len(r.Errors) != 0 {
		t.Fatalf("100 aliases: %s", r.Raw)
	}
	r := b.post(t, query(1000), nil)
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(string(r.Raw), "别名") || strings.Contains(string(r.Raw), `"a0"`) {
		t.Fatalf("1,000 aliases: %.300s", r.Raw)
	}
}
