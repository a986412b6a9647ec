package httpapi

import (
	"context"

	"govmobile/database"
	"govmobile/models"
	"govmobile/viewer"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// ReportRootFields are the administrators' statistics: aggregates over
// many rows, costly on a busy primary, and read as trends, so a few seconds
// of replication lag change nothing a reader can act on. Each is read-only.
var ReportRootFields = []string{
	// Behaviour-event trends and rankings (8.3.3 c), and their CSV
	// exports: rolled up from events the recorder writes in the background
	// anyway, so they already trail the requests they count.
	"analyticsSeries", "analyticsTop", "analyticsSeriesCsv", "analyticsTopCsv",
	// 好差评 statistics by region, agency or matter: counts over all
	// evaluations, not one citizen's own.
	"evaluationStats",
	// Search statistics (top words, zero-result words) over days of the
	// search log.
	"searchStatistics",
}

// ReplicaReads decides which operations a read replica may answer: a query
// (never a mutation or subscription) whose every root field is replica-safe —
// the public catalogue, the same for every caller, and the statistics in
// ReportRootFields. Everything else, the citizen's own cases and messages and
// every other console read, stays on the primary: that is how a caller reads
// their own writes, with no sticky sessions.
//
// A public answer read from a replica may be up to the lag bound older than
// the catalogue, and is then cached: the catalogue moves its generation on
// once more, that long after a write (catalogue.SetReadLag), so such an
// answer is dropped rather than kept for a whole cache TTL.
type ReplicaReads struct {
	fields map[string]bool
}

// NewReplicaReads marks queries made only of fields for the replicas.
func NewReplicaReads(fields []string) *ReplicaReads {
	rr := &ReplicaReads{fields: map[string]bool{"__typename": true}}
	for _, f := range fields {
		rr.fields[f] = true
	}
	return rr
}

// AroundOperations is the gqlgen operation middleware that marks the
// context (database.WithReplicaOK) of the operations a replica may answer.
// The mark reaches every statement of the operation: services read with
// db.WithContext(ctx), and the dataloaders fetch with the context of the
// batch's first load, which is the operation's.
func (rr *ReplicaReads) AroundOperations(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if graphql.HasOperationContext(ctx) && rr.allows(graphql.GetOperationContext(ctx)) {
		ctx = database.WithReplicaOK(ctx)
	}
	return next(ctx)
}

// allows reports whether every root field of a query operation is
// replica-safe (fragments and @skip/@include applied).
func (rr *ReplicaReads) allows(oc *graphql.OperationContext) bool {
	if oc.Operation == nil || oc.Operation.Operation != ast.Query {
		return false
	}
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Query"})
	if len(fields) == 0 {
		return false
	}
	for _, f := range fields {
		if !rr.fields[f.Name] {
			return false
		}
	}
	return true
}

// PrimaryAuth checks tickets and permissions on the primary, whatever the
// operation: a ticket revoked, or a role withdrawn, is refused at once, not
// after a replica catches up.
func PrimaryAuth(a viewer.Authenticator) viewer.Authenticator { return primaryAuth{a} }

type primaryAuth struct{ viewer.Authenticator }

func (p primaryAuth) Authenticate(ctx context.Context, token string) (*models.User, error) {
	return p.Authenticator.Authenticate(database.Primary(ctx), token)
}

func (p primaryAuth) AuthenticateAdmin(ctx context.Context, token string) (*models.Admin, error) {
	return p.Authenticator.AuthenticateAdmin(database.Primary(ctx), token)
}

func (p primaryAuth) AdminPermissions(ctx context.Context, adminID uint64) ([]string, error) {
	return p.Authenticator.AdminPermissions(database.Primary(ctx), adminID)
}
