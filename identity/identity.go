// Package identity provides registration, login, logout and ticket checks for
// citizens and companies (8.1.2 g; 10.3 f, h). It keeps personal data
// encrypted at rest (SM4-GCM) with keyed SM3 lookups, passwords under
// PBKDF2-HMAC-SM3, and tickets as SM3 hashes. It must never return or log
// personal data in clear except to its owner's own profile.
package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"govmobile/gm"
	"govmobile/models"
	"govmobile/privacy"
	"govmobile/validate"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Lockout policy (10.3 f): MaxFailures consecutive failed logins lock a
// username for LockDuration.
const (
	MaxFailures  = 5
	LockDuration = 15 * time.Minute
)

// DefaultTicketTTL is how long a login ticket lasts.
const DefaultTicketTTL = 12 * time.Hour

// The messages a client sees. ErrBadCredentials is the same for an unknown
// user and a wrong password (10.3 f).
var (
	ErrBadCredentials = models.Errorf(models.ECodeUnauthenticated, "用户名或密码不正确")
	ErrLocked         = models.Errorf(models.ECodeRateLimited, "登录失败次数过多，账户已临时锁定，请15分钟后再试。")
	ErrTicketInvalid  = models.Errorf(models.ECodeUnauthenticated, "登录已失效，请重新登录。")
)

// Blind-index kinds: equal values of different kinds never share a hash.
const (
	kindIDNumber   = "id_number"
	kindPhone      = "phone"
	kindCreditCode = "credit_code"
)

// Service registers and authenticates users.
type Service struct {
	db        *gorm.DB
	keys      *gm.Keyring
	TicketTTL time.Duration
	now       func() time.Time
}

// New returns the identity service.
func New(db *gorm.DB, keys *gm.Keyring) *Service {
	return &Service{db: db, keys: keys, TicketTTL: DefaultTicketTTL, now: func() time.Time { return time.Now().UTC() }}
}

// Session is the result of a successful login or registration. Ticket is the
// bearer value; it is never stored.
type Session struct {
	Ticket    string
	ExpiresAt time.Time
	User      *models.UserProfile
}

// RegisterInput is what a new user supplies.
type RegisterInput struct {
	Username             string
	Password             string
	UserType             models.UserType
	RealName             string
	IDNumber             string
	Phone                string
	CreditCode           string
	OrganizationName     string
	PrivacyConsent       bool
	PrivacyPolicyVersion string
}

// validate checks a registration and normalises its values.
func (in *RegisterInput) validate() error {
	in.Username = normalizeUsername(in.Username)
	in.RealName = strings.TrimSpace(in.RealName)
	in.IDNumber = validate.NormalizeIDNumber(in.IDNumber)
	in.Phone = strings.TrimSpace(in.Phone)
	in.CreditCode = strings.ToUpper(strings.TrimSpace(in.CreditCode))
	in.OrganizationName = strings.TrimSpace(in.OrganizationName)
	if !in.PrivacyConsent {
		return models.InvalidField("privacyConsent", "注册前须阅读并同意隐私政策。")
	}
	if in.PrivacyPolicyVersion != "" && in.PrivacyPolicyVersion != privacy.Version {
		return models.InvalidField("privacyPolicyVersion", "隐私政策已更新为"+privacy.Version+"版，请阅读新版本后再同意。")
	}
	checks := []error{
		validate.Username("username", in.Username),
		validate.Password("password", in.Password),
		validate.Name("realName", in.RealName),
		validate.IDNumber("idNumber", in.IDNumber),
		validate.Mobile("phone", in.Phone),
	}
	switch in.UserType {
	case models.UserNaturalPerson:
		if in.CreditCode != "" || in.OrganizationName != "" {
			checks = append(checks, models.InvalidField("creditCode", "自然人用户无需填写统一社会信用代码和单位名称。"))
		}
	case models.UserLegalPerson:
		if in.CreditCode == "" {
			checks = append(checks, models.InvalidField("creditCode", "法人用户须填写统一社会信用代码。"))
		} else {
			checks = append(checks, validate.CreditCode("creditCode", in.CreditCode))
		}
		if in.OrganizationName == "" {
			checks = append(checks, models.InvalidField("organizationName", "法人用户须填写单位名称。"))
		} else {
			checks = append(checks, validate.Length("organizationName", in.OrganizationName, 2, 100))
		}
	default:
		checks = append(checks, models.InvalidField("userType", "用户类型不正确。"))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	// Personal Information Protection Law art. 31: a child under 14 does not
	// consent alone; a company's representative must be an adult.
	age, _ := validate.IDNumberAge(in.IDNumber, time.Now())
	switch {
	case in.UserType == models.UserNaturalPerson && age < MinSelfRegistrationAge:
		return models.InvalidField("idNumber", "未满十四周岁的未成年人不能自行注册，请由监护人代为办理。")
	case in.UserType == models.UserLegalPerson && age < 18:
		return models.InvalidField("idNumber", "法定代表人或经办人应年满十八周岁。")
	}
	return nil
}

// MinSelfRegistrationAge is the age from which a person may register and
// consent to the privacy policy alone.
const MinSelfRegistrationAge = 14

// Register creates an account and logs it in. Everything (user, consent
// record, ticket) is written in one transaction.
func (s *Service) Register(ctx context.Context, in RegisterInput) (*Session, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	pw, err := gm.PasswordHash(in.Password)
	if err != nil {
		return nil, err
	}
	u := &models.User{
		Username:         in.Username,
		UserType:         in.UserType,
		PasswordHash:     pw,
		IDNumberHash:     s.keys.BlindIndex(kindIDNumber, in.IDNumber),
		PhoneHash:        s.keys.BlindIndex(kindPhone, in.Phone),
		OrganizationName: in.OrganizationName,
	}
	if u.RealNameEnc, err = s.keys.SealString(in.RealName, fieldContext("real_name", u.Username)); err != nil {
		return nil, err
	}
	if u.IDNumberEnc, err = s.keys.SealString(in.IDNumber, fieldContext("id_number", u.Username)); err != nil {
		return nil, err
	}
	if u.PhoneEnc, err = s.keys.SealString(in.Phone, fieldContext("phone", u.Username)); err != nil {
		return nil, err
	}
	u.IdentityHash = u.IDNumberHash
	if in.UserType == models.UserLegalPerson {
		if u.CreditCodeEnc, err = s.keys.SealString(in.CreditCode, fieldContext("credit_code", u.Username)); err != nil {
			return nil, err
		}
		u.CreditCodeHash = s.keys.BlindIndex(kindCreditCode, in.CreditCode)
		u.IdentityHash = u.CreditCodeHash
	}
	var sess *Session
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.checkUnique(tx, u); err != nil {
			return err
		}
		if err := tx.Create(u).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return models.Errorf(models.ECodeConflict, "用户名或证件已被注册，请直接登录。")
			}
			return err
		}
		consent := &models.PrivacyConsent{UserID: u.ID, PolicyVersion: privacy.Version, ConsentedAt: s.now()}
		if err := tx.Create(consent).Error; err != nil {
			return err
		}
		sess, err = s.issue(tx, u)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

func (s *Service) checkUnique(tx *gorm.DB, u *models.User) error {
	var n int64
	if err := tx.Model(&models.User{}).Where("username = ?", u.Username).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return &models.Error{Code: models.ECodeConflict, Message: "用户名已被使用，请换一个。", Field: "username"}
	}
	if err := tx.Model(&models.User{}).Where("user_type = ? AND identity_hash = ?", u.UserType, u.IdentityHash).Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		if u.UserType == models.UserLegalPerson {
			return &models.Error{Code: models.ECodeConflict, Message: "该统一社会信用代码已注册，请直接登录。", Field: "creditCode"}
		}
		return &models.Error{Code: models.ECodeConflict, Message: "该身份证号码已注册，请直接登录。", Field: "idNumber"}
	}
	return nil
}

// issue creates a ticket for u.
func (s *Service) issue(tx *gorm.DB, u *models.User) (*Session, error) {
	token, err := gm.RandomToken()
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &models.Ticket{TokenHash: gm.SM3Hex([]byte(token)), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.TicketTTL)}
	if err := tx.Create(t).Error; err != nil {
		return nil, err
	}
	p, err := s.Profile(u)
	if err != nil {
		return nil, err
	}
	return &Session{Ticket: token, ExpiresAt: t.ExpiresAt, User: p}, nil
}

// fieldContext binds an encrypted personal field to its column and owner
// (usernames never change), so ciphertexts cannot be swapped unnoticed.
func fieldContext(column, username string) string { return "users." + column + "\x00" + username }

// throttleKey identifies a username in the login throttle without storing it.
func throttleKey(username string) string {
	return gm.SM3Hex([]byte("login\x00" + username))
}

// Login checks a username and password. Unknown users and wrong passwords
// take the same time and give the same answer.
//
// Every attempt first reserves one of the MaxFailures tries of its username,
// atomically in the database, before the (slow) password check; so however
// many attempts arrive at once, on however many replicas, at most
// MaxFailures passwords are ever checked before the lock.
func (s *Service) Login(ctx context.Context, username, password string) (*Session, error) {
	username, err := loginInput(username, password)
	if err != nil {
		return nil, err
	}
	db := s.db.WithContext(ctx)
	key := throttleKey(username)
	var u models.User
	err = s.checkPassword(db, key, password, func() (string, error) {
		err := db.Where("username = ?", username).Take(&u).Error
		return u.PasswordHash, err
	})
	if err != nil {
		return nil, err
	}
	var sess *Session
	err = db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("username_hash = ?", key).Delete(&models.LoginThrottle{}).Error; err != nil {
			return err
		}
		sess, err = s.issue(tx, &u)
		return err
	})
	return sess, err
}

// loginInput normalises a username and refuses empty or oversized
// credentials; oversized ones cost a dummy KDF run and get the same answer
// as a wrong password.
func loginInput(username, password string) (string, error) {
	username = normalizeUsername(username)
	if username == "" || password == "" {
		return "", models.InvalidField("username", "请输入用户名和密码。")
	}
	if len(username) > 64 || len(password) > 128 {
		gm.PasswordDummyVerify(password)
		return "", ErrBadCredentials
	}
	return username, nil
}

// checkPassword reserves a try of the throttle key, loads the account's
// password hash (gorm.ErrRecordNotFound when there is none) and verifies the
// password; unknown accounts cost the same as wrong passwords.
func (s *Service) checkPassword(db *gorm.DB, key, password string, load func() (string, error)) error {
	reserved, err := s.reserveAttempt(db, key)
	if err != nil {
		return err
	}
	if !reserved {
		return ErrLocked
	}
	hash, err := load()
	ok := false
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		gm.PasswordDummyVerify(password)
	case err != nil:
		return err
	default:
		if ok, err = gm.PasswordVerify(hash, password); err != nil {
			return fmt.Errorf("verify password: %w", err)
		}
	}
	if !ok {
		// The try stays counted; the one that used the last try has already
		// set the lock (in reserveAttempt), so nothing more is written here
		// and a client hanging up cannot leave a counter without its lock.
		return ErrBadCredentials
	}
	return nil
}

// reserveAttempt takes one try of a username, each step a single atomic
// statement: ensure the counter row, clear a lock that has run out, then
// count the try unless the username is locked.
func (s *Service) reserveAttempt(db *gorm.DB, key string) (bool, error) {
	now := s.now()
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).
		Create(&models.LoginThrottle{UsernameHash: key, UpdatedAt: now}).Error; err != nil {
		return false, err
	}
	if err := db.Model(&models.LoginThrottle{}).
		Where("username_hash = ? AND locked_until IS NOT NULL AND locked_until <= ?", key, now).
		Updates(map[string]any{"failures": 0, "locked_until": nil, "updated_at": now}).Error; err != nil {
		return false, err
	}
	// The try that uses the last one sets the lock in the same statement (a
	// correct password then still gets in, and deletes the row). locked_until
	// comes first: MySQL evaluates SET left to right with updated values.
	res := db.Exec("UPDATE login_throttles SET locked_until = CASE WHEN failures + 1 >= ? THEN ? ELSE NULL END, "+
		"failures = failures + 1, updated_at = ? WHERE username_hash = ? AND locked_until IS NULL AND failures < ?",
		MaxFailures, now.Add(LockDuration), now, key, MaxFailures)
	return res.RowsAffected == 1, res.Error
}

// normalizeUsername makes usernames case-insensitive on every database.
func normalizeUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// Logout revokes a ticket. It reports whether the ticket was live.
func (s *Service) Logout(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&models.Ticket{}).
		Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", gm.SM3Hex([]byte(token)), now).
		Update("revoked_at", now)
	return res.RowsAffected > 0, res.Error
}

// Authenticate returns the user a ticket belongs to, or ErrTicketInvalid for
// a ticket that is unknown, expired or revoked.
func (s *Service) Authenticate(ctx context.Context, token string) (*models.User, error) {
	if token == "" || len(token) > 128 {
		return nil, ErrTicketInvalid
	}
	u, err := ticketOwner[models.User](ctx, s, "tickets", "user_id", "users", token)
	if err == nil && u == nil {
		return nil, ErrTicketInvalid
	}
	return u, err
}

// ticketOwner loads the owner (from ownerTable) of a live ticket (in
// ticketTable, pointing at it by ownerCol); nil when there is none.
func ticketOwner[T any](ctx context.Context, s *Service, ticketTable, ownerCol, ownerTable, token string) (*T, error) {
	var v T
	err := s.db.WithContext(ctx).
		Joins("JOIN "+ticketTable+" ON "+ticketTable+"."+ownerCol+" = "+ownerTable+".id").
		Where(ticketTable+".token_hash = ? AND "+ticketTable+".revoked_at IS NULL AND "+ticketTable+".expires_at > ?", gm.SM3Hex([]byte(token)), s.now()).
		Take(&v).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Profile decrypts a user's personal data for the owner's own view.
func (s *Service) Profile(u *models.User) (*models.UserProfile, error) {
	p := &models.UserProfile{ID: u.ID, Username: u.Username, UserType: u.UserType, CreatedAt: u.CreatedAt}
	var creditCode string
	for _, f := range []struct {
		dst    *string
		enc    string
		column string
	}{{&p.RealName, u.RealNameEnc, "real_name"}, {&p.IDNumber, u.IDNumberEnc, "id_number"}, {&p.Phone, u.PhoneEnc, "phone"}, {&creditCode, u.CreditCodeEnc, "credit_code"}} {
		v, err := s.keys.OpenString(f.enc, fieldContext(f.column, u.Username))
		if err != nil {
			return nil, fmt.Errorf("decrypt personal data of user %d: %w", u.ID, err)
		}
		*f.dst = v
	}
	if u.UserType == models.UserLegalPerson {
		p.CreditCode, p.OrganizationName = &creditCode, &u.OrganizationName
	}
	return p, nil
}

// Consents lists a user's privacy-policy consents, newest first.
func (s *Service) Consents(ctx context.Context, userID uint64) ([]*models.PrivacyConsent, error) {
	var out []*models.PrivacyConsent
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("consented_at DESC").Order("id DESC").Find(&out).Error
	return out, err
}

// retention is how long expired or revoked tickets and idle login counters
// are kept (for investigating incidents) before Cleanup removes them.
const retention = 7 * 24 * time.Hour

// Cleanup deletes tickets that expired or were revoked, and login counters
// left idle, more than a retention period ago, so neither table only grows.
// It reports how many rows it removed.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	before := s.now().Add(-retention)
	db := s.db.WithContext(ctx)
	t := db.Where("expires_at < ? OR revoked_at < ?", before, before).Delete(&models.Ticket{})
	if t.Error != nil {
		return 0, t.Error
	}
	th := db.Where("updated_at < ? AND (locked_until IS NULL OR locked_until < ?)", before, before).Delete(&models.LoginThrottle{})
	return t.RowsAffected + th.RowsAffected, th.Error
}

// UsersByIdentity are the accounts of a person (by identity number) or an
// organisation (by unified social credit code), found by blind index: the
// holders an agency issues a licence to. More than one means the number is
// both a person's and an organisation's: the caller must not guess.
func (s *Service) UsersByIdentity(ctx context.Context, number string) ([]*models.User, error) {
	id, cc := validate.NormalizeIDNumber(number), validate.NormalizeCreditCode(number)
	var out []*models.User
	err := s.db.WithContext(ctx).Where("(user_type = ? AND id_number_hash = ?) OR (user_type = ? AND credit_code_hash = ?)",
		models.UserNaturalPerson, s.keys.BlindIndex(kindIDNumber, id), models.UserLegalPerson, s.keys.BlindIndex(kindCreditCode, cc)).
		Order("id").Limit(10).Find(&out).Error
	return out, err
}
