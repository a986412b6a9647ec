package resolvers

import (
	"context"

	"govmobile/filing"
	"govmobile/graph/model"
	"govmobile/models"
	"govmobile/viewer"
)

const kindFiling = "Filing"

var errFilingNotFound = models.Errorf(models.ECodeNotFound, "没有找到这份备案。")

// filingInScope says whether an administrator may see a filing: a
// province's within their region; a department's if they are nationwide
// or of that department.
func filingInScope(a *models.Admin, f *models.Filing) bool {
	if a.AgencyID != 0 && f.AgencyID != a.AgencyID {
		return false
	}
	if filing.Kind(f.Kind) == filing.Departmental {
		return a.RegionCode == "" || a.AgencyID == f.AgencyID
	}
	return withinRegion(a.RegionCode, f.RegionCode)
}

// FilingInScope checks an administrator may act on a filing (the file
// endpoint uses it); outside their scope it is NOT_FOUND.
func (r *Resolver) FilingInScope(ctx context.Context, a *models.Admin, id uint64) error {
	f, err := r.Filings.Get(ctx, id)
	if err != nil {
		return err
	}
	if !filingInScope(a, f) {
		return errFilingNotFound
	}
	return nil
}

// filingCall is the calling administrator and a filing in their scope.
func (r *Resolver) filingCall(ctx context.Context, gid string) (*models.Admin, uint64, error) {
	a, err := viewer.From(ctx).RequireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, err := parseNumericID("filingId", gid, kindFiling)
	if err != nil {
		return nil, 0, err
	}
	if err := r.FilingInScope(ctx, a, id); err != nil {
		return nil, 0, err
	}
	return a, id, nil
}

// filingInput is a filing as the service takes it, within the
// administrator's scope.
func (r *Resolver) filingInput(ctx context.Context, a *models.Admin, in *model.FilingInput) (filing.Input, error) {
	out := filing.Input{Kind: in.Kind, RegionCode: deref(in.RegionCode), Name: deref(in.Name), MarketName: deref(in.MarketName),
		PackageName: deref(in.PackageName), Version: deref(in.Version), ResponsibleDept: deref(in.ResponsibleDept),
		Authority: deref(in.Authority), AuthorityPhone: in.AuthorityPhone, Supervisor: deref(in.Supervisor),
		SupervisorPhone: in.SupervisorPhone, TechUnit: deref(in.TechUnit), TechContact: deref(in.TechContact), TechPhone: in.TechPhone}
	agencyID, err := optionalID("agencyId", in.AgencyID, kindAgency)
	if err != nil {
		return out, err
	}
	out.AgencyID = agencyID
	probe := &models.Filing{Kind: string(in.Kind), RegionCode: out.RegionCode, AgencyID: agencyID}
	if in.Kind == filing.Provincial {
		probe.AgencyID = 0
		if r.Catalogue.Regions().Get(out.RegionCode) == nil {
			return out, models.InvalidField("regionCode", "省级移动端的备案须给出省级行政区划代码（如 440000）。")
		}
	}
	if in.Kind == filing.Departmental && agencyID != 0 {
		ag, err := r.Catalogue.Agency(ctx, agencyID)
		if err != nil {
			return out, err
		}
		if ag == nil {
			return out, models.InvalidField("agencyId", "没有找到这个部门。")
		}
	}
	if !filingInScope(a, probe) {
		return out, models.Errorf(models.ECodeForbidden, "只能为您管辖的区划或所在的部门备案。")
	}
	return out, nil
}

func filingPayload(f *models.Filing, err error) (*model.FilingPayload, error) {
	if err != nil {
		return nil, err
	}
	return &model.FilingPayload{Filing: f}, nil
}

// phone opens a sealed contact phone for the @mask directive.
func (r *Resolver) phone(sealed string) (*string, error) {
	if sealed == "" {
		return nil, nil
	}
	p, err := r.Filings.Phone(sealed)
	if err != nil {
		return nil, err
	}
	return &p, nil
}
