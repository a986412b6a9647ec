package identity

import (
	"context"
	"errors"

	"govmobile/gm"
	"govmobile/models"

	"gorm.io/gorm"
)

// AdminSession is a logged-in administrator.
type AdminSession struct {
	Ticket string
	Admin  *models.Admin
}

// AdminLogin logs an administrator of the management centre in. Admin
// accounts follow the users' rules: the same answer for an unknown name and
// a wrong password, the same lockout, tickets stored only as hashes.
func (s *Service) AdminLogin(ctx context.Context, username, password string) (*AdminSession, error) {
	username, err := loginInput(username, password)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	// Admin names have their own throttle keys, apart from citizens'.
	key := throttleKey("admin\x00" + username)
	var a models.Admin
	err = s.checkPassword(db, key, password, func() (string, error) {
		err := db.Where("username = ?", username).Take(&a).Error
		return a.PasswordHash, err
	})
	if err != nil {
		return nil, err
	}
	if a.Disabled {
		// The same answer as a wrong password: a stopped account says
		// nothing of itself.
		return nil, ErrBadCredentials
	}
	token, err := gm.RandomToken()
	if err != nil {
		return nil, err
	}
	now := s.now()
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("username_hash = ?", key).Delete(&models.LoginThrottle{}).Error; err != nil {
			return err
		}
		return tx.Create(&models.AdminTicket{TokenHash: gm.SM3Hex([]byte(token)), AdminID: a.ID, CreatedAt: now, ExpiresAt: now.Add(s.TicketTTL)}).Error
	})
	if err != nil {
		return nil, err
	}
	return &AdminSession{Ticket: token, Admin: &a}, nil
}

// AuthenticateAdmin returns the administrator a ticket belongs to, or nil
// when it is not a live admin ticket.
func (s *Service) AuthenticateAdmin(ctx context.Context, token string) (*models.Admin, error) {
	if token == "" || len(token) > 128 {
		return nil, nil
	}
	a, err := ticketOwner[models.Admin](ctx, s, "admin_tickets", "admin_id", "admins", token)
	if err != nil || a == nil || a.Disabled {
		return nil, err // a disabled admin's tickets stop working at once
	}
	return a, nil
}

// AdminPermissions are the permissions an administrator's roles hold.
func (s *Service) AdminPermissions(ctx context.Context, adminID uint64) ([]string, error) {
	var roles []models.Role
	if err := s.db.WithContext(ctx).Joins("JOIN admin_roles ON admin_roles.role_id = roles.id").
		Where("admin_roles.admin_id = ?", adminID).Find(&roles).Error; err != nil {
		return nil, err
	}
	var out []string
	for _, r := range roles {
		out = append(out, r.Permissions...)
	}
	return out, nil
}

// AdminLogout revokes an admin ticket; false when it was not live.
func (s *Service) AdminLogout(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.AdminTicket{}).
		Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", gm.SM3Hex([]byte(token)), now).
		Update("revoked_at", now)
	return res.RowsAffected > 0, res.Error
}

// StaffByUsername finds a staff member of an agency by username; anyone
// else (unknown, or of another agency) is BAD_USER_INPUT on field
// "assignee", alike.
func (s *Service) StaffByUsername(ctx context.Context, username string, agencyID uint64) (*models.Admin, error) {
	var a models.Admin
	err := s.db.WithContext(ctx).Where("username = ? AND agency_id = ?", normalizeUsername(username), agencyID).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || agencyID == 0 {
		return nil, models.InvalidField("assignee", "只能分派给本部门的工作人员。")
	}
	return &a, err
}

// AdminByUsername finds an administrator by username, or nil.
func (s *Service) AdminByUsername(ctx context.Context, username string) (*models.Admin, error) {
	var a models.Admin
	err := s.db.WithContext(ctx).Where("username = ?", normalizeUsername(username)).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &a, err
}
