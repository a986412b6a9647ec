package resolvers

import (
	"context"
	"time"

	"govmobile/license"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/viewer"
)

const kindLicense = "License"

// KindLicense is the global ID kind of licences, for the file endpoint.
const KindLicense = kindLicense

var errLicenseNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个证照。")

// ownLicense is a licence of the calling user; anyone else's is NOT_FOUND.
func (r *Resolver) ownLicense(ctx context.Context, gid string) (*models.License, error) {
	u, err := viewer.From(ctx).RequireUser(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseNumericID("licenseId", gid, kindLicense)
	if err != nil {
		return nil, err
	}
	l, err := r.Licenses.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if l.HolderUserID != u.ID {
		return nil, errLicenseNotFound
	}
	return l, nil
}

// docOf is a licence's document, or an empty one if it cannot be read.
func (r *Resolver) docOf(l *models.License) *license.Document {
	d, _, err := r.Licenses.Open(l)
	if err != nil {
		return &license.Document{}
	}
	return d
}

// checkMessage says a verification's outcome in words.
func checkMessage(c *license.Check) string {
	switch {
	case c.CodeExpired:
		return "亮证码已过期，请持证人重新出示。"
	case c.Status == license.Valid:
		return "证照真实有效。"
	case c.Status == license.Revoked:
		return "证照真实，但已被发证部门注销。"
	case c.Status == license.Expired:
		return "证照真实，但已过有效期。"
	}
	return "不是平台签发的证照，或内容被改动。"
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timePtr(layout, s string) *time.Time {
	t, err := time.Parse(layout, s)
	if err != nil {
		return nil
	}
	return &t
}

// holderShown is a licence's holder as shown: a person's name masked, an
// organisation's name as it is.
func holderShown(d *license.Document) *string {
	if d == nil || d.HolderName == "" {
		return nil
	}
	if d.HolderType == string(models.UserLegalPerson) {
		return &d.HolderName
	}
	m := mask.Name(d.HolderName)
	return &m
}
