package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/permission"
	"govmobile/validate"
)

// RoleInput is a role as a manager writes it.
type RoleInput struct {
	Name        string
	Permissions []string
}

func (in *RoleInput) clean() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || utf8.RuneCountInString(in.Name) > 30 {
		return models.InvalidField("name", "角色名称应为1到30个字。")
	}
	var perms []string
	for _, p := range in.Permissions {
		if !permission.Known(p) {
			return models.InvalidField("permissions", fmt.Sprintf("没有“%s”这项权限。", truncateRunes(p, 30)))
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	in.Permissions = perms
	return nil
}

// SaveRole creates a role (id 0) or changes one. Names are unique. Roles
// are shared by every region, so only a super-admin writes them (8.2.4: the
// bootstrap super-admin creates roles and permissions); managers assign
// them, within what they hold.
func (s *Service) SaveRole(ctx context.Context, m Manager, id uint64, in RoleInput) (*models.Role, error) {
	if !m.Admin.SuperAdmin {
		return nil, models.Errorf(models.ECodeForbidden, "角色为各地共用，只有超级管理员可以新建和修改角色。")
	}
	if err := in.clean(); err != nil {
		return nil, err
	}
	var r models.Role
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		now := s.now().UTC()
		if id != 0 {
			if err := tx.Take(&r, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
				return models.Errorf(models.ECodeNotFound, "没有找到这个角色。")
			} else if err != nil {
				return err
			}
		} else {
			r.CreatedAt = now
		}
		r.Name, r.Permissions, r.UpdatedAt = in.Name, in.Permissions, now
		if err := tx.Save(&r).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return models.Errorf(models.ECodeConflict, "已有同名的角色。")
		} else if err != nil {
			return err
		}
		return nil
	})
	return &r, err
}

// Roles lists the roles by name.
func (s *Service) Roles(ctx context.Context) ([]*models.Role, error) {
	var out []*models.Role
	err := s.db.WithContext(ctx).Order("name").Find(&out).Error
	return out, err
}

// RolesOf loads the roles of many administrators, in the order of ids.
func (s *Service) RolesOf(ctx context.Context, ids []uint64) ([][]*models.Role, error) {
	var rows []struct {
		AdminID uint64
		models.Role
	}
	if err := s.db.WithContext(ctx).Table("admin_roles").Select("admin_roles.admin_id, roles.*").
		Joins("JOIN roles ON roles.id = admin_roles.role_id").Where("admin_roles.admin_id IN ?", ids).
		Order("roles.name").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := map[uint64][]*models.Role{}
	for i := range rows {
		by[rows[i].AdminID] = append(by[rows[i].AdminID], &rows[i].Role)
	}
	out := make([][]*models.Role, len(ids))
	for i, id := range ids {
		out[i] = by[id]
	}
	return out, nil
}

// AdminInput is an administrator account as a manager writes it. Nil
// fields of an update are left as they are.
type AdminInput struct {
	Username   string
	Password   string
	RegionCode *string
	AgencyID   *uint64
	RoleIDs    []uint64
	SetRoles   bool
	Disabled   *bool
}

// Manager is who creates or changes administrators: what they may grant
// is checked by Grantable, and where, by the caller (regions).
type Manager struct {
	Admin       *models.Admin
	Permissions []string
}

// holds refuses permissions the manager does not hold (a super-admin holds
// them all).
func (m Manager) holds(perms []string) error {
	if m.Admin.SuperAdmin {
		return nil
	}
	for _, p := range perms {
		if !slices.Contains(m.Permissions, p) {
			return models.Errorf(models.ECodeForbidden, "不能授予或修改自己没有的权限（%s）。", p)
		}
	}
	return nil
}

// grantable refuses roles that would give permissions the manager does not
// hold: nobody hands out more than they have.
func (s *Service) grantable(tx *gorm.DB, m Manager, roleIDs []uint64) error {
	if len(roleIDs) == 0 {
		return nil
	}
	var roles []models.Role
	if err := tx.Where("id IN ?", roleIDs).Find(&roles).Error; err != nil {
		return err
	}
	if len(roles) != len(slices.Compact(slices.Sorted(slices.Values(roleIDs)))) {
		return models.InvalidField("roleIds", "有的角色不存在。")
	}
	for _, r := range roles {
		if err := m.holds(r.Permissions); err != nil {
			return models.Errorf(models.ECodeForbidden, "不能授予自己没有的权限（角色“%s”）。", r.Name)
		}
	}
	return nil
}

// CreateAdmin makes an administrator account with the password rules of
// citizens' accounts. Usernames are unique among administrators.
func (s *Service) CreateAdmin(ctx context.Context, m Manager, in AdminInput) (*models.Admin, error) {
	in.Username = normalizeUsername(in.Username)
	if err := errors.Join(validate.Username("username", in.Username), validate.Password("password", in.Password)); err != nil {
		return nil, firstError(err)
	}
	hash, err := gm.PasswordHash(in.Password)
	if err != nil {
		return nil, err
	}
	a := &models.Admin{Username: in.Username, PasswordHash: hash, CreatedAt: s.now().UTC()}
	if in.RegionCode != nil {
		a.RegionCode = *in.RegionCode
	}
	if in.AgencyID != nil {
		a.AgencyID = *in.AgencyID
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := s.grantable(tx, m, in.RoleIDs); err != nil {
			return err
		}
		if err := tx.Create(a).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return models.Errorf(models.ECodeConflict, "这个管理员用户名已被使用。")
		} else if err != nil {
			return err
		}
		return setRoles(tx, a.ID, in.RoleIDs)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// UpdateAdmin changes an administrator's region, agency, roles or whether
// the account is disabled (which ends their tickets' use at once). Nobody
// changes a super-administrator, nor disables themselves.
func (s *Service) UpdateAdmin(ctx context.Context, m Manager, id uint64, in AdminInput) (*models.Admin, error) {
	var a models.Admin
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Take(&a, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.ECodeNotFound, "没有找到这位管理员。")
		} else if err != nil {
			return err
		}
		if a.SuperAdmin {
			return models.Errorf(models.ECodeForbidden, "不能修改超级管理员。")
		}
		// Nor an administrator who may do more than the manager.
		theirs, err := s.AdminPermissions(ctx, a.ID)
		if err != nil {
			return err
		}
		if err := m.holds(theirs); err != nil {
			return models.Errorf(models.ECodeForbidden, "不能修改权限比自己多的管理员。")
		}
		if in.Disabled != nil && *in.Disabled && a.ID == m.Admin.ID {
			return models.Errorf(models.ECodeConflict, "不能停用自己的账号。")
		}
		if err := s.grantable(tx, m, in.RoleIDs); err != nil {
			return err
		}
		cols := map[string]any{}
		if in.RegionCode != nil {
			a.RegionCode, cols["region_code"] = *in.RegionCode, *in.RegionCode
		}
		if in.AgencyID != nil {
			a.AgencyID, cols["agency_id"] = *in.AgencyID, *in.AgencyID
		}
		if in.Disabled != nil {
			a.Disabled, cols["disabled"] = *in.Disabled, *in.Disabled
		}
		if len(cols) > 0 {
			if err := tx.Model(&models.Admin{}).Where("id = ?", a.ID).Updates(cols).Error; err != nil {
				return err
			}
		}
		if in.SetRoles {
			return setRoles(tx, a.ID, in.RoleIDs)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

func setRoles(tx *gorm.DB, adminID uint64, roleIDs []uint64) error {
	if err := tx.Where("admin_id = ?", adminID).Delete(&models.AdminRole{}).Error; err != nil {
		return err
	}
	for _, r := range slices.Compact(slices.Sorted(slices.Values(roleIDs))) {
		if err := tx.Create(&models.AdminRole{AdminID: adminID, RoleID: r}).Error; err != nil {
			return err
		}
	}
	return nil
}

// Admins is a page of administrators, newest first, optionally only those
// within a region-code prefix.
func (s *Service) Admins(ctx context.Context, regionPrefix string, agencyID uint64, first int, afterID uint64) ([]*models.Admin, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Admin{})
	if regionPrefix != "" {
		q = q.Where("region_code LIKE ?", regionPrefix+"%")
	}
	if agencyID != 0 {
		q = q.Where("agency_id = ?", agencyID)
	}
	return database.NewestFirst[models.Admin](q, first, afterID)
}

// AdminByID is an administrator, or nil.
func (s *Service) AdminByID(ctx context.Context, id uint64) (*models.Admin, error) {
	var a models.Admin
	err := s.db.WithContext(ctx).Take(&a, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &a, err
}

// firstError is the first of joined validation errors (one message at a time).
func firstError(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e != nil {
				return e
			}
		}
	}
	return err
}

func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// RoleByID is a role, or nil.
func (s *Service) RoleByID(ctx context.Context, id uint64) (*models.Role, error) {
	var r models.Role
	err := s.db.WithContext(ctx).Take(&r, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &r, err
}
