package apps

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/iface"
	"govmobile/models"
	"govmobile/search"
	"govmobile/validate"
)

// Kind is what an app asks of its users (9.1).
type Kind string

// The kinds.
const (
	// Identity: the user logs in to the terminal and authorizes the app,
	// which gets the user's information through a one-time ticket (9.2).
	Identity Kind = "IDENTITY"
	// Open: a fully open H5 page that needs no login (9.1 note).
	Open Kind = "OPEN"
)

// Bounds.
const (
	MaxInterfaces = 50
	maxNameRunes  = 100
)

// Service keeps apps through their life cycle.
type Service struct {
	db     *gorm.DB
	ifaces *iface.Service
	// httpOK admits http:// entry addresses (dev mode).
	httpOK bool
	// validRegion says whether a region code exists.
	validRegion func(string) bool
	// notify tells the search index of changed apps.
	notify func()
	// OfflineAfter is how many failed checks in a row of a bound interface
	// take an online app offline (9.5; default 5).
	OfflineAfter int
}

// New returns the apps service.
func New(db *gorm.DB, ifaces *iface.Service, validRegion func(string) bool, notify func(), httpOK bool) *Service {
	return &Service{db: db, ifaces: ifaces, validRegion: validRegion, notify: notify, httpOK: httpOK, OfflineAfter: 5}
}

// Input is an app as its owner writes it.
type Input struct {
	Code, Name, Summary, Category, RegionCode, URL string
	Kind                                           Kind
	Aliases                                        []string
	ServiceObjects                                 []models.ServiceObject
	AgencyID                                       uint64
}

var codeRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{2,63}$`)

func (s *Service) clean(in *Input) error {
	var err error
	in.Code = strings.ToLower(strings.TrimSpace(in.Code))
	if !codeRe.MatchString(in.Code) {
		return models.InvalidField("code", "应用代码应为3到64个小写字母、数字或连字符，以字母或数字开头。")
	}
	if in.Name, err = validate.Text("name", "应用名称", in.Name, maxNameRunes, ""); err != nil {
		return err
	}
	if in.Name == "" {
		return models.InvalidField("name", "请填写应用名称。")
	}
	if in.Summary, err = validate.Text("summary", "应用简介", in.Summary, 500, "\n"); err != nil {
		return err
	}
	if in.Category, err = validate.Text("category", "应用分类", in.Category, 64, ""); err != nil {
		return err
	}
	if in.Category == "" {
		return models.InvalidField("category", "请填写应用分类，例如“社保就业”。")
	}
	switch in.Kind {
	case Identity, Open:
	case "":
		in.Kind = Open
	default:
		return models.InvalidField("kind", "应用类型只能是需身份认证的应用或完全开放的 H5 页面。")
	}
	if in.RegionCode != "" && !s.validRegion(in.RegionCode) {
		return models.InvalidField("regionCode", "没有这个行政区划代码。")
	}
	in.URL = strings.TrimSpace(in.URL)
	if err := s.checkURL(in.URL); err != nil {
		return err
	}
	if len(in.Aliases) > 10 {
		return models.InvalidField("aliases", "常用叫法最多10个。")
	}
	for i, a := range in.Aliases {
		if in.Aliases[i], err = validate.Text("aliases", "常用叫法", a, 50, ""); err != nil {
			return err
		}
	}
	in.Aliases = slices.DeleteFunc(in.Aliases, func(a string) bool { return a == "" })
	return nil
}

// checkURL admits an entry address a phone may open: https (http in dev
// mode), a host, no credentials.
func (s *Service) checkURL(raw string) error {
	bad := models.InvalidField("url", "应用入口地址须为 https:// 开头的完整网址。")
	if len(raw) > 500 {
		return models.InvalidField("url", "应用入口地址不能超过500个字符。")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "https" && !(s.httpOK && scheme == "http")) {
		return bad
	}
	host, _, _ := strings.Cut(rest, "/")
	if host == "" || strings.Contains(host, "@") || strings.ContainsAny(raw, " \t\r\n<>\"'") {
		return bad
	}
	return nil
}

var (
	errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。")
	errCodeUsed = models.Errorf(models.ECodeConflict, "应用代码已被使用，请换一个。")
)

// Create records a new app as a draft owned by adminID.
func (s *Service) Create(ctx context.Context, adminID uint64, in Input) (*models.App, error) {
	if err := s.clean(&in); err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	a := &models.App{Code: in.Code, Name: in.Name, Aliases: in.Aliases, Summary: in.Summary, Category: in.Category,
		ServiceObjects: models.NewServiceObjectSet(in.ServiceObjects...), RegionCode: in.RegionCode, URL: in.URL,
		Kind: string(in.Kind), Status: string(Draft), AgencyID: in.AgencyID, OwnerID: adminID, LastEditedBy: adminID, Grade: 1, Version: 1,
		CreatedAt: now, UpdatedAt: now}
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return errCodeUsed
		} else if err != nil {
			return err
		}
		return event(tx, a.ID, "CREATE", adminID, "")
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Update changes what is reviewed of an app: it goes back to draft, to be
// tested and reviewed again. An app under review or online is not changed
// (take it offline first).
func (s *Service) Update(ctx context.Context, adminID, id uint64, in Input) (*models.App, error) {
	if err := s.clean(&in); err != nil {
		return nil, err
	}
	return s.edit(ctx, adminID, id, "EDIT", "", func(tx *gorm.DB, a *models.App) (map[string]any, error) {
		return map[string]any{"code": in.Code, "name": in.Name, "aliases": database.JSONList(in.Aliases), "summary": in.Summary,
			"category": in.Category, "service_objects": models.NewServiceObjectSet(in.ServiceObjects...), "region_code": in.RegionCode,
			"url": in.URL, "kind": string(in.Kind), "agency_id": in.AgencyID}, nil
	})
}

// edit takes the Edit step with the columns change gives (the version is
// raised, so the app is tested again).
func (s *Service) edit(ctx context.Context, adminID, id uint64, action, note string, change func(tx *gorm.DB, a *models.App) (map[string]any, error)) (*models.App, error) {
	return s.step(ctx, id, Edit, Owner, adminID, action, note, change)
}

// step moves an app by action if its status has not changed since it was
// read, writing the columns set gives and an event.
func (s *Service) step(ctx context.Context, id uint64, action Action, by Role, adminID uint64, eventName, note string, set func(tx *gorm.DB, a *models.App) (map[string]any, error)) (*models.App, error) {
	var out *models.App
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var err error
		out, err = stepTx(tx, id, action, by, adminID, eventName, note, set)
		return err
	})
	if err == nil && s.notify != nil {
		s.notify()
	}
	return out, err
}

// stepTx is step within the caller's transaction.
func stepTx(tx *gorm.DB, id uint64, action Action, by Role, adminID uint64, eventName, note string, set func(tx *gorm.DB, a *models.App) (map[string]any, error)) (*models.App, error) {
	a, err := get(tx, id)
	if err != nil {
		return nil, err
	}
	to, err := Next(Status(a.Status), action, by)
	if err != nil {
		return nil, err
	}
	cols := map[string]any{}
	if set != nil {
		if cols, err = set(tx, a); err != nil {
			return nil, err
		}
	}
	if action == Edit {
		// A change is tested and reviewed again, and not reviewed by who
		// made it.
		cols["version"], cols["last_edited_by"] = gorm.Expr("version + 1"), adminID
	}
	if to == Offline {
		// Back online only after a new function test and review (9.5).
		cols["tested_version"] = 0
	}
	cols["status"], cols["online"], cols["updated_at"] = string(to), to == Online, time.Now().UTC()
	res := tx.Model(&models.App{}).Where("id = ? AND status = ?", id, a.Status).Updates(cols)
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) {
		return nil, errCodeUsed
	} else if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.ECodeConflict, "应用状态刚刚已有变化，请刷新后再试。")
	}
	if err := event(tx, id, eventName, adminID, note); err != nil {
		return nil, err
	}
	// The index follows the app in and out of online.
	if to == Online || Status(a.Status) == Online {
		if err := search.Enqueue(tx, models.DocApp, id); err != nil {
			return nil, err
		}
	}
	return get(tx, id)
}

// BindInterfaces sets the source interfaces an app uses (replacing the
// bound set); the app is tested and reviewed again.
func (s *Service) BindInterfaces(ctx context.Context, adminID, id uint64, interfaceIDs []uint64, inRegion func(appID uint64) error) (*models.App, error) {
	slices.Sort(interfaceIDs)
	interfaceIDs = slices.Compact(interfaceIDs)
	if len(interfaceIDs) > MaxInterfaces {
		return nil, models.InvalidField("interfaceIds", fmt.Sprintf("一个应用最多绑定%d个接口。", MaxInterfaces))
	}
	return s.edit(ctx, adminID, id, "BIND", fmt.Sprintf("绑定%d个接口", len(interfaceIDs)), func(tx *gorm.DB, a *models.App) (map[string]any, error) {
		var xs []*models.SourceInterface
		if err := tx.Where("id IN ?", interfaceIDs).Find(&xs).Error; err != nil {
			return nil, err
		}
		if len(xs) != len(interfaceIDs) {
			return nil, models.Errorf(models.ECodeNotFound, "没有找到要绑定的接口。")
		}
		for _, x := range xs {
			if err := inRegion(x.AppID); err != nil {
				return nil, models.Errorf(models.ECodeNotFound, "没有找到要绑定的接口。")
			}
			// Only reviewed addresses are called by tests of the app.
			if iface.Status(x.Status) != iface.Approved {
				return nil, models.Errorf(models.ECodeConflict, "接口“%s”还没有通过审核，不能绑定。", truncate(x.Name, 50))
			}
		}
		if err := tx.Where("app_id = ?", id).Delete(&models.AppInterface{}).Error; err != nil {
			return nil, err
		}
		for _, x := range interfaceIDs {
			if err := tx.Create(&models.AppInterface{AppID: id, InterfaceID: x}).Error; err != nil {
				return nil, err
			}
		}
		return map[string]any{}, nil
	})
}

// Interfaces are the interfaces bound to an app.
func (s *Service) Interfaces(ctx context.Context, id uint64) ([]*models.SourceInterface, error) {
	var xs []*models.SourceInterface
	err := s.db.WithContext(ctx).Where("id IN (?)", s.db.Model(&models.AppInterface{}).Select("interface_id").Where("app_id = ?", id)).
		Order("id").Find(&xs).Error
	return xs, err
}

// InterfaceIDs are the IDs of the interfaces bound to an app.
func (s *Service) InterfaceIDs(ctx context.Context, id uint64) ([]uint64, error) {
	var ids []uint64
	err := s.db.WithContext(ctx).Model(&models.AppInterface{}).Where("app_id = ?", id).Order("interface_id").Pluck("interface_id", &ids).Error
	return ids, err
}

// Submit sends an app for review: it must have passed a function test
// since its last change, and every bound interface must be approved.
func (s *Service) Submit(ctx context.Context, adminID, id uint64) (*models.App, error) {
	return s.step(ctx, id, Submit, Owner, adminID, "SUBMIT", "", func(tx *gorm.DB, a *models.App) (map[string]any, error) {
		if a.TestedVersion != a.Version {
			return nil, models.Errorf(models.ECodeConflict, "请先通过功能测试（应用修改后须重新测试），再提交审核。")
		}
		var pending int64
		if err := tx.Model(&models.SourceInterface{}).Where("status <> ? AND id IN (?)", string(iface.Approved),
			tx.Model(&models.AppInterface{}).Select("interface_id").Where("app_id = ?", id)).Count(&pending).Error; err != nil {
			return nil, err
		}
		if pending > 0 {
			return nil, models.Errorf(models.ECodeConflict, "还有%d个绑定的接口未通过审核。", pending)
		}
		return map[string]any{"submitted_by": adminID, "review_note": "", "offline_reason": "", "offline_auto": false}, nil
	})
}

// Review approves or rejects a submitted app, and may set its security
// grade (1 to 3; 0 keeps it). Nobody reviews an app they own or submitted;
// a rejection needs a reason.
func (s *Service) Review(ctx context.Context, reviewerID, id uint64, approve bool, reason string, grade int) (*models.App, error) {
	reason, err := validate.Text("reason", "审核意见", reason, 500, "\n")
	if err != nil {
		return nil, err
	}
	if grade < 0 || grade > 3 {
		return nil, models.InvalidField("grade", "安全等级只能是1、2或3。")
	}
	action := Approve
	if !approve {
		action = Reject
		if reason == "" {
			return nil, models.InvalidField("reason", "驳回时请说明理由。")
		}
	}
	return s.step(ctx, id, action, Reviewer, reviewerID, string(action), reason, func(tx *gorm.DB, a *models.App) (map[string]any, error) {
		if reviewerID == a.OwnerID || reviewerID == a.SubmittedBy || reviewerID == a.LastEditedBy {
			return nil, models.Errorf(models.ECodeForbidden, "不能审核自己创建、修改或提交的应用，请由另一位管理员审核。")
		}
		cols := map[string]any{"reviewed_by": reviewerID, "review_note": reason}
		if grade > 0 {
			cols["grade"] = grade
		}
		return cols, nil
	})
}

// TakeOffline takes an online app offline with a reason; it goes online
// again only after a new review.
func (s *Service) TakeOffline(ctx context.Context, adminID, id uint64, reason string) (*models.App, error) {
	reason, err := validate.Text("reason", "下线原因", reason, 500, "\n")
	if err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, models.InvalidField("reason", "请说明下线原因。")
	}
	return s.step(ctx, id, TakeOffline, Reviewer, adminID, string(TakeOffline), reason, func(*gorm.DB, *models.App) (map[string]any, error) {
		return map[string]any{"offline_reason": reason, "offline_auto": false}, nil
	})
}

// AutoOffline is the platform taking an unstable app offline (9.5); the
// owner is told.
func (s *Service) AutoOffline(ctx context.Context, id uint64, reason string) (*models.App, error) {
	a, err := s.step(ctx, id, AutoOffline, Platform, 0, string(AutoOffline), reason, func(tx *gorm.DB, a *models.App) (map[string]any, error) {
		if a.OwnerID != 0 {
			n := &models.AdminNotice{AdminID: a.OwnerID, AppID: a.ID, Title: fmt.Sprintf("应用“%s”已被自动下线", truncate(a.Name, 60)),
				Body: truncate(reason+" 请整改后重新提交审核。", 1000), CreatedAt: time.Now().UTC()}
			if err := tx.Create(n).Error; err != nil {
				return nil, err
			}
		}
		return map[string]any{"offline_reason": truncate(reason, 500), "offline_auto": true}, nil
	})
	return a, err
}

// OnBadInterfaces takes offline the online apps bound to any of the given
// interfaces that has now failed or timed out OfflineAfter times in a row.
// The health scheduler calls it after each run.
func (s *Service) OnBadInterfaces(ctx context.Context, ids []uint64) error {
	var bad []*models.SourceInterface
	for chunk := range slices.Chunk(ids, 500) {
		var part []*models.SourceInterface
		if err := s.db.WithContext(ctx).Where("id IN ? AND last_outcome IN ? AND bad_streak >= ?", chunk,
			[]string{string(iface.Failed), string(iface.Timeout)}, s.OfflineAfter).Find(&part).Error; err != nil {
			return err
		}
		bad = append(bad, part...)
	}
	for _, x := range bad {
		var appIDs []uint64
		if err := s.db.WithContext(ctx).Model(&models.App{}).Where("status = ? AND id IN (?)", string(Online),
			s.db.Model(&models.AppInterface{}).Select("app_id").Where("interface_id = ?", x.ID)).Pluck("id", &appIDs).Error; err != nil {
			return err
		}
		for _, id := range appIDs {
			reason := fmt.Sprintf("绑定的接口“%s”连续%d次健康检查异常，最近一次为%s。", truncate(x.Name, 60), x.BadStreak, iface.Outcome(x.LastOutcome).Label())
			if _, err := s.AutoOffline(ctx, id, reason); err != nil && models.ErrorCode(err) != models.ECodeConflict {
				return err
			}
		}
	}
	return nil
}

func get(tx *gorm.DB, id uint64) (*models.App, error) {
	return database.Take[models.App](tx, id, errNotFound)
}

// Get is one app, in any status.
func (s *Service) Get(ctx context.Context, id uint64) (*models.App, error) {
	return get(s.db.WithContext(ctx), id)
}

// List is a page of apps for the console, newest first: of one status when
// given, within a region-code prefix when given (nationwide apps only for
// a nationwide administrator), of one agency when agencyID is not 0.
func (s *Service) List(ctx context.Context, status Status, regionPrefix string, agencyID uint64, first int, afterID uint64) ([]*models.App, int64, error) {
	return database.ScopedPage[models.App](s.db.WithContext(ctx).Model(&models.App{}),
		database.Scope{Status: string(status), RegionPrefix: regionPrefix, AgencyID: agencyID}, first, afterID)
}

// Events are an app's steps, newest first (at most 100).
func (s *Service) Events(ctx context.Context, id uint64) ([]*models.AppEvent, error) {
	var out []*models.AppEvent
	err := s.db.WithContext(ctx).Where("app_id = ?", id).Order("id DESC").Limit(100).Find(&out).Error
	return out, err
}

func event(tx *gorm.DB, appID uint64, action string, adminID uint64, note string) error {
	return tx.Create(&models.AppEvent{AppID: appID, Action: action, AdminID: adminID, Note: truncate(note, 500), At: time.Now().UTC()}).Error
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
