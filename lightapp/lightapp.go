// Package lightapp lets third-party light apps log users in (9.2): a user
// authorizes an app for the fields it asks for; the app's page obtains a
// one-time ticket through the JSSDK; the app's server exchanges the ticket,
// in a request signed with its SM2 key, for the user's information sealed
// with SM4-GCM under the app's data key, which the app received SM2-
// encrypted to its public key. Fully open apps skip all of it (9.1 note).
package lightapp

import (
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"

	"govmobile/apps"
	"govmobile/database"
	"govmobile/gm"
	"govmobile/identity"
	"govmobile/models"
	"govmobile/platformkey"
)

// TicketTTL is how long a ticket may be exchanged.
const TicketTTL = 5 * time.Minute

// Field is a user field an app may ask for.
type Field struct{ Key, Label string }

// Fields are the fields apps may ask for; every envelope also carries the
// user's openId, an identifier of the user that is stable for one app and
// differs between apps.
var Fields = []Field{
	{"name", "姓名"}, {"idNumber", "身份证号码"}, {"phone", "手机号码"}, {"userType", "用户类型"},
	{"creditCode", "统一社会信用代码"}, {"organizationName", "单位名称"},
	// 8.3.2 c: an app reads the holder's licences only with this consent.
	{"licenses", "电子证照"},
}

// FieldLabel is a field's Chinese name.
func FieldLabel(key string) string {
	for _, f := range Fields {
		if f.Key == key {
			return f.Label
		}
	}
	return key
}

// Service keeps credentials, consents and tickets, and answers exchanges.
type Service struct {
	db       *gorm.DB
	keys     *gm.Keyring
	identity *identity.Service
	platform *platformkey.Ring
	now      func() time.Time
	// Licenses, when set, gives the holder's licences in force for the
	// "licenses" field (8.3.2 c); the app wires it to package license.
	Licenses func(ctx context.Context, userID uint64) (any, error)
}

// New returns the service.
func New(db *gorm.DB, keys *gm.Keyring, id *identity.Service, platform *platformkey.Ring) *Service {
	return &Service{db: db, keys: keys, identity: id, platform: platform, now: func() time.Time { return time.Now().UTC() }}
}

// Errors a caller sees, each with its own code.
var (
	errNoCredentials = models.Errorf(models.ECodeConflict, "这个应用还没有登记公钥和所需的用户信息。")
	errNotIdentity   = models.Errorf(models.ECodeConflict, "这个应用是完全开放的 H5 页面，不需要用户授权。")
	errAppNotOnline  = models.Errorf(models.ECodeNotFound, "没有找到这个已上线的服务应用。")
)

// SetCredentials registers an app's SM2 public key (hex or PEM) and the
// fields it asks for. A changed set of fields needs each user's consent
// again.
func (s *Service) SetCredentials(ctx context.Context, appID uint64, publicKey string, fields []string) (*models.AppCredential, error) {
	pub, err := gm.ParseSM2PublicKey(publicKey)
	if err != nil {
		return nil, models.InvalidField("publicKey", "公钥格式不正确：须为130位十六进制（04开头）或 PEM 格式的 SM2 公钥。")
	}
	if len(fields) == 0 {
		return nil, models.InvalidField("fields", "请至少选择一项需要的用户信息。")
	}
	seen := map[string]bool{}
	var clean []string
	for _, f := range fields {
		if !slices.ContainsFunc(Fields, func(x Field) bool { return x.Key == f }) {
			return nil, models.InvalidField("fields", "没有这项用户信息："+truncate(f, 30)+"。")
		}
		if !seen[f] {
			seen[f] = true
			clean = append(clean, f)
		}
	}
	slices.Sort(clean)
	c := &models.AppCredential{AppID: appID, PublicKeyHex: gm.SM2PublicKeyHex(pub), Fields: clean, UpdatedAt: s.now()}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var old models.AppCredential
		switch err := tx.Take(&old, appID).Error; {
		case errors.Is(err, gorm.ErrRecordNotFound):
			return tx.Create(c).Error
		case err != nil:
			return err
		}
		cols := map[string]any{"public_key_hex": c.PublicKeyHex, "fields": database.JSONList(clean), "updated_at": c.UpdatedAt}
		c.DataKey, c.DataKeyVersion = old.DataKey, old.DataKeyVersion
		if old.PublicKeyHex != c.PublicKeyHex {
			// The data key was delivered to the replaced key (perhaps
			// compromised): no envelope is sealed under it again; the app
			// takes a new one (the version keeps counting up).
			cols["data_key"], c.DataKey = "", ""
		}
		return tx.Model(&models.AppCredential{}).Where("app_id = ?", appID).Updates(cols).Error
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Credentials are an app's credentials, or nil.
func (s *Service) Credentials(ctx context.Context, appID uint64) (*models.AppCredential, error) {
	var c models.AppCredential
	err := s.db.WithContext(ctx).Take(&c, appID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &c, err
}

// IssueDataKey makes the app a new SM4 data key and returns it encrypted to
// the app's public key (SPEC §6: C1C3C2, C1 with the 04 prefix), as hex,
// with its version. Envelopes are sealed under the newest key from then
// on; the key itself is never shown again.
func (s *Service) IssueDataKey(ctx context.Context, appID uint64) (version int, encrypted string, err error) {
	c, err := s.Credentials(ctx, appID)
	if err != nil {
		return 0, "", err
	}
	if c == nil {
		return 0, "", errNoCredentials
	}
	pub, err := gm.ParseSM2PublicKeyHex(c.PublicKeyHex)
	if err != nil {
		return 0, "", err
	}
	key := gm.GenerateKey(16)
	ct, err := gm.SM2Encrypt(pub, key)
	if err != nil {
		return 0, "", err
	}
	sealed, err := s.keys.SealString(hex.EncodeToString(key), dataKeyContext(appID))
	if err != nil {
		return 0, "", err
	}
	res := s.db.WithContext(ctx).Model(&models.AppCredential{}).Where("app_id = ? AND data_key_version = ? AND public_key_hex = ?", appID, c.DataKeyVersion, c.PublicKeyHex).
		Updates(map[string]any{"data_key": sealed, "data_key_version": c.DataKeyVersion + 1, "updated_at": s.now()})
	if res.Error != nil {
		return 0, "", res.Error
	}
	if res.RowsAffected == 0 {
		return 0, "", models.Errorf(models.ECodeConflict, "数据密钥刚刚已更新，请刷新后再试。")
	}
	return c.DataKeyVersion + 1, hex.EncodeToString(ct), nil
}

func dataKeyContext(appID uint64) string { return "app-data-key:" + strconv.FormatUint(appID, 10) }

// identityApp is an online identity-required app with credentials.
func (s *Service) identityApp(ctx context.Context, appID uint64) (*models.App, *models.AppCredential, error) {
	var a models.App
	if err := s.db.WithContext(ctx).Take(&a, appID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, errAppNotOnline
	} else if err != nil {
		return nil, nil, err
	}
	if apps.Status(a.Status) != apps.Online {
		return nil, nil, errAppNotOnline
	}
	if apps.Kind(a.Kind) != apps.Identity {
		return nil, nil, errNotIdentity
	}
	c, err := s.Credentials(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, errNoCredentials
	}
	return &a, c, nil
}

// Authorize records a user's consent to give an app the fields it asks for.
// shown, when not nil, are the fields the user was shown: if the app asks
// for others now, nothing is recorded (the user must see them first).
func (s *Service) Authorize(ctx context.Context, userID, appID uint64, shown []string) (*models.AppConsent, error) {
	_, c, err := s.identityApp(ctx, appID)
	if err != nil {
		return nil, err
	}
	if shown != nil {
		seen := slices.Clone(shown)
		slices.Sort(seen)
		if !slices.Equal(slices.Compact(seen), c.Fields) {
			return nil, models.Errorf(models.ECodeConflict, "应用申请的信息刚刚有变化，请重新查看后再授权。")
		}
	}
	now := s.now()
	var out models.AppConsent
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.AppConsent{}).Where("user_id = ? AND app_id = ?", userID, appID).
			Updates(map[string]any{"fields": database.JSONList(c.Fields), "granted_at": now, "revoked_at": nil})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			if err := tx.Create(&models.AppConsent{UserID: userID, AppID: appID, Fields: c.Fields, GrantedAt: now}).Error; err != nil {
				return err
			}
		}
		return tx.Where("user_id = ? AND app_id = ?", userID, appID).Take(&out).Error
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke ends a user's consent to an app; its tickets not yet exchanged
// are no longer honoured.
func (s *Service) Revoke(ctx context.Context, userID, appID uint64) error {
	now := s.now()
	return database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		res := tx.Model(&models.AppConsent{}).Where("user_id = ? AND app_id = ? AND revoked_at IS NULL", userID, appID).Update("revoked_at", now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeNotFound, "您没有授权过这个应用。")
		}
		// Tickets given under the revoked consent die with it, even if the
		// user authorizes the app again.
		return tx.Model(&models.AppTicket{}).Where("user_id = ? AND app_id = ? AND used_at IS NULL", userID, appID).Update("used_at", now).Error
	})
}

// Consents are a user's authorizations in force, newest first.
func (s *Service) Consents(ctx context.Context, userID uint64) ([]*models.AppConsent, error) {
	var out []*models.AppConsent
	err := s.db.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", userID).Order("granted_at DESC").Limit(200).Find(&out).Error
	return out, err
}

// Request is what an app asks a user to authorize, and whether the user
// has.
func (s *Service) Request(ctx context.Context, userID, appID uint64) (*models.App, []string, bool, error) {
	a, c, err := s.identityApp(ctx, appID)
	if err != nil {
		return nil, nil, false, err
	}
	var consent models.AppConsent
	err = s.db.WithContext(ctx).Where("user_id = ? AND app_id = ?", userID, appID).Take(&consent).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, false, err
	}
	return a, c.Fields, err == nil && consentCovers(&consent, c.Fields), nil
}

// consentCovers says whether a consent in force covers every field.
func consentCovers(c *models.AppConsent, fields []string) bool {
	if c == nil || c.RevokedAt != nil {
		return false
	}
	for _, f := range fields {
		if !slices.Contains(c.Fields, f) {
			return false
		}
	}
	return true
}

// ErrConsentRequired is IssueTicket's answer when the user has not
// authorized the app (or not for the fields it now asks for).
var ErrConsentRequired = models.Errorf("CONSENT_REQUIRED", "请先授权这个应用获取您的信息。")

// IssueTicket gives a logged-in user's app page a one-time ticket for the
// app, valid TicketTTL.
func (s *Service) IssueTicket(ctx context.Context, userID, appID uint64) (string, time.Time, error) {
	_, c, err := s.identityApp(ctx, appID)
	if err != nil {
		return "", time.Time{}, err
	}
	var consent models.AppConsent
	err = s.db.WithContext(ctx).Where("user_id = ? AND app_id = ?", userID, appID).Take(&consent).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return "", time.Time{}, err
	}
	if err != nil || !consentCovers(&consent, c.Fields) {
		return "", time.Time{}, ErrConsentRequired
	}
	ticket, err := gm.RandomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	exp := s.now().Add(TicketTTL)
	if err := s.db.WithContext(ctx).Create(&models.AppTicket{Hash: gm.SM3Hex([]byte(ticket)), AppID: appID, UserID: userID, ExpiresAt: exp}).Error; err != nil {
		return "", time.Time{}, err
	}
	return ticket, exp, nil
}

// Prune deletes tickets and nonces that can no longer be used.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	db := s.db.WithContext(ctx)
	res := db.Where("expires_at < ?", s.now().Add(-time.Hour)).Delete(&models.AppTicket{})
	if res.Error != nil {
		return 0, res.Error
	}
	// Kept three windows: slack for replicas' clocks.
	res2 := db.Where("at < ?", s.now().Add(-3*nonceWindow)).Delete(&models.ExchangeNonce{})
	return res.RowsAffected + res2.RowsAffected, res2.Error
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
