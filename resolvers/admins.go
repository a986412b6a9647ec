package resolvers

import (
	"context"
	"strings"

	"govmobile/identity"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/viewer"
)

// manager is the calling administrator with the permissions they hold.
func (r *Resolver) manager(ctx context.Context) (identity.Manager, error) {
	v := viewer.From(ctx)
	a, err := v.RequireAdmin(ctx)
	if err != nil {
		return identity.Manager{}, err
	}
	m := identity.Manager{Admin: a}
	for _, p := range permission.All {
		ok, err := v.Allowed(ctx, p.Name)
		if err != nil {
			return identity.Manager{}, err
		}
		if ok {
			m.Permissions = append(m.Permissions, p.Name)
		}
	}
	return m, nil
}

// withinRegion reports whether region lies within scope (the scope itself
// or a region below it); an empty scope is the whole country.
func withinRegion(scope, region string) bool {
	if scope == "" {
		return true
	}
	if region == "" {
		return false
	}
	prefix := scope
	switch {
	case strings.HasSuffix(scope, "0000"):
		prefix = scope[:2]
	case strings.HasSuffix(scope, "00"):
		prefix = scope[:4]
	}
	return strings.HasPrefix(region, prefix)
}

// adminScope fills an account's region, agency and roles from the input,
// checking they exist and lie within the manager's own region: a
// provincial administrator manages their province only.
func (r *Resolver) adminScope(ctx context.Context, m identity.Manager, in *identity.AdminInput, regionCode, agencyID *string, roleIDs []string) error {
	if regionCode != nil {
		code := strings.TrimSpace(*regionCode)
		if code != "" {
			if _, err := r.Catalogue.Regions().Lookup("regionCode", code); err != nil {
				return err
			}
		}
		if !withinRegion(m.Admin.RegionCode, code) {
			return models.Errorf(models.ECodeForbidden, "只能在自己管辖的行政区划内设置管理员。")
		}
		in.RegionCode = &code
	} else if m.Admin.RegionCode != "" && in.Username != "" {
		// A new account of a regional manager is in their region.
		code := m.Admin.RegionCode
		in.RegionCode = &code
	}
	if agencyID != nil {
		id, err := parseNumericID("agencyId", *agencyID, kindAgency)
		if err != nil {
			return err
		}
		ag, err := r.Catalogue.Agency(ctx, id)
		if err != nil {
			return err
		}
		if ag == nil {
			return models.Errorf(models.ECodeNotFound, "没有找到这个部门。")
		}
		if !withinRegion(m.Admin.RegionCode, ag.RegionCode) {
			return models.Errorf(models.ECodeForbidden, "只能设置自己管辖区划内的部门。")
		}
		in.AgencyID = &id
	}
	if m.Admin.AgencyID != 0 {
		// A department's manager manages the accounts of their department
		// only: a new account is theirs, and none moves elsewhere.
		if in.AgencyID != nil && *in.AgencyID != m.Admin.AgencyID {
			return models.Errorf(models.ECodeForbidden, "只能设置本部门的管理员。")
		}
		if in.Username != "" {
			own := m.Admin.AgencyID
			in.AgencyID = &own
		}
	}
	if roleIDs != nil {
		in.SetRoles = true
		for _, g := range roleIDs {
			id, err := parseNumericID("roleIds", g, kindRole)
			if err != nil {
				return err
			}
			in.RoleIDs = append(in.RoleIDs, id)
		}
	}
	return nil
}
