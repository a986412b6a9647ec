// Package readpref says, in a context, whether a read may be answered by a
// MySQL read replica. It is a leaf package, so that packages the database
// package itself imports (search) can ask for the primary too; package
// database routes on it (database.WithReplicaOK, database.Primary).
package readpref

import "context"

type replicaOKKey struct{}

// WithReplicaOK marks ctx's reads as tolerating replication lag: they may be
// answered by a read replica.
func WithReplicaOK(ctx context.Context) context.Context {
	return context.WithValue(ctx, replicaOKKey{}, true)
}

// Primary marks ctx's reads as needing the primary, whatever an outer
// context said (who is asking, what they may do).
func Primary(ctx context.Context) context.Context {
	return context.WithValue(ctx, replicaOKKey{}, false)
}

// ReplicaOK reports whether ctx's reads may be answered by a read replica.
func ReplicaOK(ctx context.Context) bool {
	ok, _ := ctx.Value(replicaOKKey{}).(bool)
	return ok
}
