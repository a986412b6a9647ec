package resolvers

import (
	"context"
	"encoding/json"

	"govmobile/models"
	"govmobile/seal"
	"govmobile/viewer"
)

const (
	kindSeal       = "Seal"
	kindSealGrant  = "SealGrant"
	kindSealRecord = "SealRecord"
)

// KindSeal is the global ID kind of seals, for the image endpoint.
const KindSeal = kindSeal

var errSealNotFound = models.Errorf(models.ECodeNotFound, "没有找到这枚印章。")

// agencyInReach says whether an administrator manages an agency's seals:
// a department's administrator their own; others the agencies of their
// region.
func agencyInReach(a *models.Admin, ag *models.Agency) bool {
	if a.AgencyID != 0 {
		return ag.ID == a.AgencyID
	}
	return withinRegion(a.RegionCode, ag.RegionCode)
}

// sealCall is the calling administrator and a seal within their reach.
func (r *Resolver) sealCall(ctx context.Context, gid string) (*models.Admin, *models.Seal, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, nil, err
	}
	id, err := parseNumericID("sealId", gid, kindSeal)
	if err != nil {
		return nil, nil, err
	}
	s, err := r.Seals.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	ag, err := r.Catalogue.Agency(ctx, s.AgencyID)
	if err != nil {
		return nil, nil, err
	}
	if ag == nil || !agencyInReach(a, ag) {
		return nil, nil, errSealNotFound
	}
	return a, s, nil
}

// certOf reads a seal's certificate data.
func certOf(s *models.Seal) seal.Cert {
	var c seal.Cert
	_ = json.Unmarshal([]byte(s.CertData), &c)
	return c
}
