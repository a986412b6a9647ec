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

// KindSeal and KindSealRecord are the global ID kinds of seals and
// sealings, for the image and app-seal endpoints.
const (
	KindSeal       = kindSeal
	KindSealRecord = kindSealRecord
)

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

// sealableApp says whether an app may be granted a seal of an agency: it
// has registered its key (it can sign its requests), and it belongs to the
// agency's region (a nationwide app gets no local agency's seal).
func (r *Resolver) sealableApp(ctx context.Context, appID uint64, ag *models.Agency) error {
	app, err := r.Catalogue.AppAnyState(ctx, appID)
	if err != nil {
		return err
	}
	if app == nil || ag == nil {
		return models.InvalidField("appId", "没有找到这个服务应用。")
	}
	if app.RegionCode == "" || !withinRegion(ag.RegionCode, app.RegionCode) {
		return models.InvalidField("appId", "只能授权给印章所属部门所在地区的服务应用。")
	}
	cred, err := r.LightApps.Credentials(ctx, appID)
	if err != nil {
		return err
	}
	if cred == nil {
		return models.InvalidField("appId", "这个应用还没有登记接入公钥，不能用印。")
	}
	return nil
}
