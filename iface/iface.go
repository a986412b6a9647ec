package iface

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
	"govmobile/outbound"
	"govmobile/sensitive"
)

// Bounds on a registration.
const (
	MaxParams      = 50
	MaxShownBody   = 64 << 10
	maxNameRunes   = 100
	maxRemarkRunes = 500
)

// Service keeps source interfaces and the sensitive-word list.
type Service struct {
	db   *gorm.DB
	out  *outbound.Client
	opts Options

	mu       sync.Mutex
	matcher  *sensitive.Matcher // nil until loaded or after a change
	loadedAt time.Time
}

// wordsTTL bounds how stale another replica's change to the list can be.
const wordsTTL = 30 * time.Second

// New returns the interface service, calling interfaces through out.
func New(db *gorm.DB, out *outbound.Client, opts Options) *Service {
	return &Service{db: db, out: out, opts: opts}
}

// Input is an interface as its registrant writes it (example 7).
type Input struct {
	AppID          uint64
	Name           string
	Address        string
	Format         string
	Method         string
	Remark         string
	RequestParams  []models.InterfaceParam
	ResponseParams []models.InterfaceParam
	// AuthMode defaults to Signature.
	AuthMode AuthMode
	// AuthKeyParam names the parameter for AuthKey (default "key").
	AuthKeyParam string
	// AuthKey is the provider's key: nil keeps the stored one, "" removes
	// it.
	AuthKey *string
	// SlowMs is the health checks' slow threshold (0: DefaultSlowMs).
	SlowMs int
	// HealthParams are sample values health checks send.
	HealthParams map[string]string
}

// checkable says whether health checks can call an interface: every
// required parameter is a standard one or has a sample value.
func checkable(in Input) bool {
	for _, p := range in.RequestParams {
		if _, std := standardParam(p.Name); p.Required && !std && in.HealthParams[p.Name] == "" {
			return false
		}
	}
	return true
}

var (
	paramName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	paramTypes = []string{"string", "number", "integer", "boolean", "object", "array"}
)

// clean checks an input and fills what the address decides (the protocol).
func (s *Service) clean(in *Input) (protocol string, err error) {
	in.Name, in.Address, in.Remark = strings.TrimSpace(in.Name), strings.TrimSpace(in.Address), strings.TrimSpace(in.Remark)
	in.Format, in.Method = strings.ToUpper(strings.TrimSpace(in.Format)), strings.ToUpper(strings.TrimSpace(in.Method))
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > maxNameRunes:
		return "", models.InvalidField("name", fmt.Sprintf("接口名称应为1到%d个字。", maxNameRunes))
	case in.Format != "JSON":
		return "", models.InvalidField("format", "返回格式目前只支持 JSON。")
	case in.Method != http.MethodGet && in.Method != http.MethodPost:
		return "", models.InvalidField("method", "请求方式只能是 GET 或 POST。")
	case utf8.RuneCountInString(in.Remark) > maxRemarkRunes:
		return "", models.InvalidField("remark", fmt.Sprintf("接口备注不能超过%d个字。", maxRemarkRunes))
	}
	if err := s.out.CheckURL(in.Address); err != nil {
		return "", models.InvalidField("address", err.Error()+"。")
	}
	switch in.AuthMode {
	case "":
		in.AuthMode = Signature
	case Signature:
	case Whitelist:
		if !s.onWhitelist(in.Address) {
			return "", errNotWhitelisted()
		}
	default:
		return "", models.InvalidField("authMode", "鉴权方式只能是签名鉴权或白名单鉴权。")
	}
	if in.AuthKeyParam = strings.TrimSpace(in.AuthKeyParam); in.AuthKeyParam == "" {
		in.AuthKeyParam = DefaultAuthKeyParam
	} else if !paramName.MatchString(in.AuthKeyParam) {
		return "", models.InvalidField("authKeyParam", "鉴权密钥参数名应以字母或下划线开头，只含字母、数字和下划线。")
	}
	for name, v := range in.HealthParams {
		if !slices.ContainsFunc(in.RequestParams, func(p models.InterfaceParam) bool { return p.Name == name }) {
			return "", models.InvalidField("healthParams", fmt.Sprintf("健康检查参数 %s 不是这个接口的请求参数。", truncate(name, 30)))
		}
		if utf8.RuneCountInString(v) > 200 || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", models.InvalidField("healthParams", "健康检查参数的值不能超过200个字，也不能含控制字符。")
		}
	}
	if in.AuthKey != nil {
		if k := strings.TrimSpace(*in.AuthKey); len(k) > 512 || strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", models.InvalidField("authKey", "鉴权密钥不能超过512个字符，也不能含控制字符。")
		} else {
			in.AuthKey = &k
		}
	}
	if in.SlowMs != 0 && (in.SlowMs < 100 || in.SlowMs > MaxSlowMs) {
		return "", models.InvalidField("slowMs", fmt.Sprintf("响应慢的阈值应为100到%d毫秒（超过%d毫秒记为超时）。", MaxSlowMs, MaxSlowMs))
	}
	u, _ := url.Parse(in.Address)
	for _, list := range []struct {
		field  string
		params []models.InterfaceParam
	}{{"requestParams", in.RequestParams}, {"responseParams", in.ResponseParams}} {
		if len(list.params) > MaxParams {
			return "", models.InvalidField(list.field, fmt.Sprintf("参数最多%d个。", MaxParams))
		}
		seen := map[string]bool{}
		for _, p := range list.params {
			if !paramName.MatchString(p.Name) || seen[p.Name] {
				return "", models.InvalidField(list.field, fmt.Sprintf("参数名“%s”不合规范或重复：应以字母或下划线开头，只含字母、数字和下划线。", truncate(p.Name, 30)))
			}
			seen[p.Name] = true
			if !slices.Contains(paramTypes, p.Type) {
				return "", models.InvalidField(list.field, "参数类型只能是 string、number、integer、boolean、object 或 array。")
			}
			if utf8.RuneCountInString(p.Description) > 200 {
				return "", models.InvalidField(list.field, "参数说明不能超过200个字。")
			}
		}
	}
	return strings.ToUpper(u.Scheme), nil
}

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个接口。")

// Register records a new interface of an app, as a draft.
func (s *Service) Register(ctx context.Context, adminID uint64, in Input) (*models.SourceInterface, error) {
	protocol, err := s.clean(&in)
	if err != nil {
		return nil, err
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&models.App{}).Where("id = ?", in.AppID).Count(&n).Error; err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。")
	}
	sealed := ""
	if in.AuthKey != nil {
		if sealed, err = s.sealAuthKey(*in.AuthKey); err != nil {
			return nil, err
		}
	}
	now := time.Now().UTC()
	x := &models.SourceInterface{AppID: in.AppID, Name: in.Name, Address: in.Address, Format: in.Format, Method: in.Method, Protocol: protocol,
		Remark: in.Remark, RequestParams: in.RequestParams, ResponseParams: in.ResponseParams, Status: string(Draft),
		RegisteredBy: adminID, LastEditedBy: adminID, SubmittedBy: adminID, CreatedAt: now, UpdatedAt: now,
		AuthMode: string(in.AuthMode), AuthKeyParam: in.AuthKeyParam, AuthKey: sealed, SlowMs: in.SlowMs,
		HealthParams: in.HealthParams, Uncheckable: !checkable(in)}
	if err := s.db.WithContext(ctx).Create(x).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, models.Errorf(models.ECodeConflict, "这个应用已有同名的接口。")
	} else if err != nil {
		return nil, err
	}
	return x, nil
}

// Update changes an interface; an approved or rejected one goes back to
// draft, to be reviewed again.
func (s *Service) Update(ctx context.Context, adminID, id uint64, in Input) (*models.SourceInterface, error) {
	protocol, err := s.clean(&in)
	if err != nil {
		return nil, err
	}
	var out *models.SourceInterface
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		x, err := get(tx, id)
		if err != nil {
			return err
		}
		// Map updates bypass the columns' JSON serializer: the lists are
		// written as the JSON it would write.
		reqJSON, _ := json.Marshal(in.RequestParams)
		respJSON, _ := json.Marshal(in.ResponseParams)
		healthJSON, _ := json.Marshal(in.HealthParams)
		cols := map[string]any{"name": in.Name, "address": in.Address, "format": in.Format, "method": in.Method, "protocol": protocol,
			"remark": in.Remark, "request_params": string(reqJSON), "response_params": string(respJSON), "last_edited_by": adminID,
			"auth_mode": string(in.AuthMode), "auth_key_param": in.AuthKeyParam, "slow_ms": in.SlowMs,
			"health_params": string(healthJSON), "uncheckable": !checkable(in),
			// A changed interface is tested afresh.
			"flagged": false, "flagged_words": "[]"}
		if in.AuthKey != nil {
			sealed, err := s.sealAuthKey(*in.AuthKey)
			if err != nil {
				return err
			}
			cols["auth_key"] = sealed
		} else if origin(x.Address) != origin(in.Address) {
			// The key goes only where it was given for: a new host needs
			// the key written again.
			cols["auth_key"] = ""
		}
		if err := move(tx, x, Edit, Registrant, cols); errors.Is(err, gorm.ErrDuplicatedKey) {
			return models.Errorf(models.ECodeConflict, "这个应用已有同名的接口。")
		} else if err != nil {
			return err
		}
		out, err = get(tx, id)
		return err
	})
	return out, err
}

// Submit sends an interface for review.
func (s *Service) Submit(ctx context.Context, adminID, id uint64) (*models.SourceInterface, error) {
	return s.step(ctx, id, Submit, Registrant, func(*models.SourceInterface) (map[string]any, error) {
		return map[string]any{"submitted_by": adminID}, nil
	})
}

// Review approves or rejects a submitted interface. Nobody reviews an
// interface they submitted; a rejection needs a reason.
func (s *Service) Review(ctx context.Context, reviewerID, id uint64, approve bool, reason string) (*models.SourceInterface, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 500 {
		return nil, models.InvalidField("reason", "审核意见不能超过500个字。")
	}
	action := Approve
	if !approve {
		action = Reject
		if reason == "" {
			return nil, models.InvalidField("reason", "驳回时请说明理由。")
		}
	}
	return s.step(ctx, id, action, Reviewer, func(x *models.SourceInterface) (map[string]any, error) {
		if reviewerID == x.SubmittedBy || reviewerID == x.RegisteredBy || reviewerID == x.LastEditedBy {
			return nil, models.Errorf(models.ECodeForbidden, "不能审核自己注册、修改或提交的接口，请由另一位管理员审核。")
		}
		return map[string]any{"review_note": reason, "reviewed_by": reviewerID}, nil
	})
}

func (s *Service) step(ctx context.Context, id uint64, action Action, by Role, set func(*models.SourceInterface) (map[string]any, error)) (*models.SourceInterface, error) {
	var out *models.SourceInterface
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		x, err := get(tx, id)
		if err != nil {
			return err
		}
		if _, err := Next(Status(x.Status), action, by); err != nil {
			return err
		}
		cols, err := set(x)
		if err != nil {
			return err
		}
		if err := move(tx, x, action, by, cols); err != nil {
			return err
		}
		out, err = get(tx, id)
		return err
	})
	return out, err
}

// move takes a step if the status has not changed since x was read.
func move(tx *gorm.DB, x *models.SourceInterface, action Action, by Role, cols map[string]any) error {
	to, err := Next(Status(x.Status), action, by)
	if err != nil {
		return err
	}
	cols["status"], cols["updated_at"] = string(to), time.Now().UTC()
	leaving := Status(x.Status) == Approved && to != Approved
	if leaving {
		stopChecks(cols)
	}
	res := tx.Model(&models.SourceInterface{}).Where("id = ? AND status = ?", x.ID, x.Status).Updates(cols)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeConflict, "接口状态刚刚已有变化，请刷新后再试。")
	}
	if leaving {
		return leftApproval(tx, x.ID)
	}
	return nil
}

// stopChecks adds to an update of an interface leaving approval the
// columns that stop its health checks until it is approved again, from a
// clean slate.
func stopChecks(cols map[string]any) {
	cols["next_check_at"], cols["bad_streak"], cols["last_outcome"] = nil, 0, ""
}

// leftApproval resolves the alerts of an interface that left approval, and
// voids the function tests of the apps bound to it: they are tested again
// once it is approved again.
func leftApproval(tx *gorm.DB, id uint64) error {
	if err := tx.Model(&models.InterfaceAlert{}).Where("interface_id = ? AND status <> ?", id, alertResolved).
		Updates(map[string]any{"status": alertResolved, "resolved_at": time.Now().UTC(), "note": "接口已修改或退回审核，预警自动关闭。"}).Error; err != nil {
		return err
	}
	return tx.Model(&models.App{}).Where("id IN (?)", tx.Model(&models.AppInterface{}).Select("app_id").Where("interface_id = ?", id)).
		UpdateColumn("tested_version", 0).Error
}

// origin is an address's scheme, host and port.
func origin(address string) string {
	u, err := url.Parse(address)
	if err != nil {
		return address
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

func get(tx *gorm.DB, id uint64) (*models.SourceInterface, error) {
	var x models.SourceInterface
	if err := tx.Take(&x, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	return &x, nil
}

// Get is one interface.
func (s *Service) Get(ctx context.Context, id uint64) (*models.SourceInterface, error) {
	return get(s.db.WithContext(ctx), id)
}

// List is a page of interfaces, newest first, optionally of one app, of
// apps within a region-code prefix and of one department (agencyID ≠ 0),
// and of one status.
func (s *Service) List(ctx context.Context, appID uint64, regionPrefix string, agencyID uint64, status Status, first int, afterID uint64) ([]*models.SourceInterface, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.SourceInterface{})
	if apps := s.appsWithin(regionPrefix, agencyID); apps != nil {
		q = q.Where("app_id IN (?)", apps)
	}
	if appID != 0 {
		q = q.Where("app_id = ?", appID)
	}
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	return database.NewestFirst[models.SourceInterface](q, first, afterID)
}

// appsWithin is the IDs of the apps of a region (its code prefix) and, for
// a department's administrator (agencyID ≠ 0), of that department; nil when
// neither narrows.
func (s *Service) appsWithin(regionPrefix string, agencyID uint64) *gorm.DB {
	if regionPrefix == "" && agencyID == 0 {
		return nil
	}
	q := s.db.Model(&models.App{}).Select("id")
	if regionPrefix != "" {
		q = q.Where("region_code LIKE ?", regionPrefix+"%")
	}
	if agencyID != 0 {
		q = q.Where("agency_id = ?", agencyID)
	}
	return q
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func randomCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func now() time.Time { return time.Now().UTC() }
