package resolvers

import (
	"context"

	"govmobile/models"
	"govmobile/viewer"
)

const kindIncident = "Incident"

// incidentOwner reads an optional owner's username.
func (r *Resolver) incidentOwner(ctx context.Context, username *string) (uint64, error) {
	if username == nil || *username == "" {
		return 0, nil
	}
	return r.Incidents.OwnerID(ctx, *username)
}

// incidentCall is the calling administrator and an incident's ID.
func incidentCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("incidentId", gid, kindIncident)
	return a, id, err
}
