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

// opsAdmin is the calling administrator, who must be nationwide: incidents
// and runbooks are the whole platform's operations, and an alert opened as
// an incident may be any region's.
func opsAdmin(ctx context.Context) (*models.Admin, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if a.RegionCode != "" || a.AgencyID != 0 {
		return nil, models.Errorf(models.ECodeForbidden, "运维事件由全国平台的运维管理员处置。")
	}
	return a, nil
}

// incidentCall is the calling administrator and an incident's ID.
func incidentCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := opsAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("incidentId", gid, kindIncident)
	return a, id, err
}
