package httpapi

import (
	"context"
	"testing"

	"govmobile/database"
	"govmobile/graph"
	"govmobile/resolvers"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
)

// Which operations a read replica may answer, decided on the real schema.
func TestReplicaReadsMarksOnlySafeQueries(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &resolvers.Resolver{}}).Schema()
	rr := NewReplicaReads(append([]string{"matters", "matter", "regions", "navigation"}, ReportRootFields...))
	marked := func(query string, vars map[string]any) bool {
		t.Helper()
		doc, err := gqlparser.LoadQuery(schema, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		oc := &graphql.OperationContext{RawQuery: query, Variables: vars, Doc: doc, Operation: doc.Operations[0]}
		var ok bool
		rr.AroundOperations(graphql.WithOperationContext(context.Background(), oc), func(ctx context.Context) graphql.ResponseHandler {
			ok = database.ReplicaOK(ctx)
			return nil
		})
		return ok
	}
	for _, c := range []struct {
		query string
		vars  map[string]any
		want  bool
	}{
		{`{ matters { totalCount } }`, nil, true},
		{`query Page { matter(code: "x") { name } regions { name } __typename }`, nil, true},
		{`{ ...Cat } fragment Cat on Query { navigation(dimension: THEME) { count } }`, nil, true},
		{`{ analyticsTop(list: TOP_MATTERS, from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { name } evaluationStats(groupBy: AGENCY) { name } }`, nil, true},
		// The citizen's own data, with or beside public fields: primary.
		{`{ myCases { totalCount } }`, nil, false},
		{`{ matters { totalCount } myCases { totalCount } }`, nil, false},
		{`{ matters { totalCount } ... on Query { myCases { totalCount } } }`, nil, false},
		{`query($skip: Boolean!) { matters { totalCount } myCases @skip(if: $skip) { totalCount } }`, map[string]any{"skip": true}, true},
		{`query($skip: Boolean!) { matters { totalCount } myCases @skip(if: $skip) { totalCount } }`, map[string]any{"skip": false}, false},
		// A console read that is no report: primary.
		{`{ auditLogs { totalCount } }`, nil, false},
		// Never a mutation or a subscription.
		{`mutation { logout }`, nil, false},
		{`subscription { messageReceived { id } }`, nil, false},
	} {
		if got := marked(c.query, c.vars); got != c.want {
			t.Errorf("%s %v: replica-OK %v, want %v", c.query, c.vars, got, c.want)
		}
	}
}
