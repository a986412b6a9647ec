package filing

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/models"
	"govmobile/validate"
)

// Kind is whose terminal is filed.
type Kind string

// The kinds.
const (
	Provincial   Kind = "PROVINCIAL"   // a province's terminal
	Departmental Kind = "DEPARTMENTAL" // a State Council department's terminal
)

// Service keeps filings.
type Service struct {
	db   *gorm.DB
	keys *gm.Keyring
}

// New returns the filing service; keys seal contact phones.
func New(db *gorm.DB, keys *gm.Keyring) *Service { return &Service{db: db, keys: keys} }

// Input is a filing as its filer writes it; a draft may leave fields empty,
// a submission may not.
type Input struct {
	Kind       Kind
	RegionCode string
	AgencyID   uint64
	Name, MarketName, PackageName, Version,
	ResponsibleDept, Authority, Supervisor, TechUnit, TechContact string
	// The phones: nil keeps the stored one (a client sees them masked and
	// cannot send them back), "" removes it.
	AuthorityPhone, SupervisorPhone, TechPhone *string
}

// A field of a filing, with its Chinese name, for the completeness check.
type field struct {
	name, label string
	get         func(f *models.Filing, phones map[string]string) bool
}

func filled(s string) bool { return strings.TrimSpace(s) != "" }

// fields are the filing's fields in the order a filer sees them (10.1,
// 10.2).
var fields = []field{
	{"name", "移动端名称", func(f *models.Filing, _ map[string]string) bool { return filled(f.Name) }},
	{"marketName", "应用市场显示名称", func(f *models.Filing, _ map[string]string) bool { return filled(f.MarketName) }},
	{"packageName", "安装包包名", func(f *models.Filing, _ map[string]string) bool { return filled(f.PackageName) }},
	{"version", "版本号", func(f *models.Filing, _ map[string]string) bool { return filled(f.Version) }},
	{"packageFile", "安装包", func(f *models.Filing, _ map[string]string) bool { return f.PackageFileID != 0 }},
	{"responsibleDept", "负责部门", func(f *models.Filing, _ map[string]string) bool { return filled(f.ResponsibleDept) }},
	{"authority", "主管部门", func(f *models.Filing, _ map[string]string) bool { return filled(f.Authority) }},
	{"authorityPhone", "主管部门联系电话", func(f *models.Filing, _ map[string]string) bool { return f.AuthorityPhone != "" }},
	{"supervisor", "主管联系人", func(f *models.Filing, _ map[string]string) bool { return filled(f.Supervisor) }},
	{"supervisorPhone", "主管联系电话", func(f *models.Filing, _ map[string]string) bool { return f.SupervisorPhone != "" }},
	{"techUnit", "技术联系单位", func(f *models.Filing, _ map[string]string) bool { return filled(f.TechUnit) }},
	{"techContact", "技术联系人", func(f *models.Filing, _ map[string]string) bool { return filled(f.TechContact) }},
	{"techPhone", "技术联系电话", func(f *models.Filing, _ map[string]string) bool { return f.TechPhone != "" }},
}

// MissingField is a field a filing still lacks.
type MissingField struct{ Field, Label string }

// Missing lists, field by field, what a filing lacks before it can be
// submitted (10.3 a).
func Missing(f *models.Filing) []MissingField {
	var out []MissingField
	for _, fl := range fields {
		if !fl.get(f, nil) {
			out = append(out, MissingField{fl.name, fl.label})
		}
	}
	return out
}

// CheckItems are the review items of 10.3 b–i, with their Chinese names;
// item a (completeness) is checked by the platform.
var CheckItems = []struct{ Key, Label string }{
	{"network", "无网络、弱网络时友好提示，提交有超时限制，失败有提示，不崩溃不闪退（10.3 b）"},
	{"upgrade", "支持跨版本升级（10.3 c）"},
	{"messages", "消息按指定的业务规则发送（10.3 d）"},
	{"screens", "界面适应不同大小的屏幕和横竖屏切换（10.3 e）"},
	{"loginMessage", "用户名或密码错误时提示“用户名或密码不正确”（10.3 f）"},
	{"inputErrors", "对非法输入或操作有清晰的提示、警告或错误说明（10.3 g）"},
	{"privacyTransfer", "未经用户同意或告知不传输用户数据（10.3 h）"},
	{"privacyPolicy", "提供隐私条款说明（10.3 i）"},
}

var (
	packageRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
	versionRe = regexp.MustCompile(`^[0-9]{1,6}(\.[0-9]{1,6}){0,3}$`)
)

// clean checks what is filled in: each text bounded and printable, the
// package name and version well formed, phones real phone numbers.
func (s *Service) clean(in *Input) error {
	texts := []struct {
		p     *string
		name  string
		label string
		max   int
	}{
		{&in.Name, "name", "移动端名称", 100}, {&in.MarketName, "marketName", "应用市场显示名称", 100},
		{&in.PackageName, "packageName", "安装包包名", 200}, {&in.Version, "version", "版本号", 40},
		{&in.ResponsibleDept, "responsibleDept", "负责部门", 200}, {&in.Authority, "authority", "主管部门", 200},
		{&in.Supervisor, "supervisor", "主管联系人", 100}, {&in.TechUnit, "techUnit", "技术联系单位", 200},
		{&in.TechContact, "techContact", "技术联系人", 100},
	}
	for _, p := range []struct {
		p     *string
		name  string
		label string
	}{{in.AuthorityPhone, "authorityPhone", "主管部门联系电话"}, {in.SupervisorPhone, "supervisorPhone", "主管联系电话"}, {in.TechPhone, "techPhone", "技术联系电话"}} {
		if p.p == nil {
			continue
		}
		v, err := validate.Text(p.name, p.label, *p.p, 30, "")
		if err != nil {
			return err
		}
		if *p.p = v; v != "" {
			if err := validate.Phone(p.name, p.label, v); err != nil {
				return err
			}
		}
	}
	for _, t := range texts {
		v, err := validate.Text(t.name, t.label, *t.p, t.max, "")
		if err != nil {
			return err
		}
		*t.p = v
	}
	if in.PackageName != "" && !packageRe.MatchString(in.PackageName) {
		return models.InvalidField("packageName", "安装包包名格式不正确，应如 cn.gov.example.app。")
	}
	if in.Version != "" && !versionRe.MatchString(in.Version) {
		return models.InvalidField("version", "版本号格式不正确，应如 3.2.1。")
	}
	switch in.Kind {
	case Provincial:
		if len(in.RegionCode) != 6 || !strings.HasSuffix(in.RegionCode, "0000") {
			return models.InvalidField("regionCode", "省级移动端的备案须给出省级行政区划代码（如 440000）。")
		}
		in.AgencyID = 0
	case Departmental:
		if in.AgencyID == 0 {
			return models.InvalidField("agencyId", "部门移动端的备案须给出部门。")
		}
		in.RegionCode = "" // a department's terminal is national
	default:
		return models.InvalidField("kind", "备案类型只能是省级（PROVINCIAL）或部门（DEPARTMENTAL）移动端。")
	}
	return nil
}

const phoneContext = "filing-phone"

func (s *Service) seal(phone string) (string, error) { return s.keys.SealString(phone, phoneContext) }

// Phone opens a sealed contact phone.
func (s *Service) Phone(sealed string) (string, error) {
	return s.keys.OpenString(sealed, phoneContext)
}

// columns are an input's columns, phones given sealed.
func (s *Service) columns(in Input) (map[string]any, error) {
	cols := map[string]any{"kind": string(in.Kind), "region_code": in.RegionCode, "agency_id": in.AgencyID,
		"name": in.Name, "market_name": in.MarketName, "package_name": in.PackageName, "version": in.Version,
		"responsible_dept": in.ResponsibleDept, "authority": in.Authority, "supervisor": in.Supervisor,
		"tech_unit": in.TechUnit, "tech_contact": in.TechContact}
	for col, v := range map[string]*string{"authority_phone": in.AuthorityPhone, "supervisor_phone": in.SupervisorPhone, "tech_phone": in.TechPhone} {
		if v == nil {
			continue
		}
		sealed, err := s.seal(*v)
		if err != nil {
			return nil, err
		}
		cols[col] = sealed
	}
	return cols, nil
}

func orEmpty(cols map[string]any, col string) string {
	if v, ok := cols[col].(string); ok {
		return v
	}
	return ""
}

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这份备案。")

// Create records a draft filing.
func (s *Service) Create(ctx context.Context, adminID uint64, in Input) (*models.Filing, error) {
	if err := s.clean(&in); err != nil {
		return nil, err
	}
	cols, err := s.columns(in)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	f := &models.Filing{Kind: string(in.Kind), RegionCode: in.RegionCode, AgencyID: in.AgencyID, Name: in.Name, MarketName: in.MarketName,
		PackageName: in.PackageName, Version: in.Version, ResponsibleDept: in.ResponsibleDept, Authority: in.Authority,
		AuthorityPhone: orEmpty(cols, "authority_phone"), Supervisor: in.Supervisor, SupervisorPhone: orEmpty(cols, "supervisor_phone"),
		TechUnit: in.TechUnit, TechContact: in.TechContact, TechPhone: orEmpty(cols, "tech_phone"),
		Status: string(Draft), Checklist: map[string]bool{}, FiledBy: adminID, LastEditedBy: adminID, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(f).Error; err != nil {
		return nil, err
	}
	return f, nil
}

// Update changes a filing; a reviewed or online one goes back to draft, to
// be reviewed again.
func (s *Service) Update(ctx context.Context, adminID, id uint64, in Input) (*models.Filing, error) {
	if err := s.clean(&in); err != nil {
		return nil, err
	}
	cols, err := s.columns(in)
	if err != nil {
		return nil, err
	}
	return s.step(ctx, id, Edit, Filer, func(*gorm.DB, *models.Filing) (map[string]any, error) { return edited(cols, adminID), nil })
}

// edited adds to a change's columns what every change does: the editor is
// recorded (they do not review it), the last review's verdicts cleared.
func edited(cols map[string]any, adminID uint64) map[string]any {
	cols["last_edited_by"], cols["checklist"], cols["reviewed_by"] = adminID, "{}", 0
	return cols
}

// AttachPackage makes an uploaded package the filing's (a change: a
// reviewed filing goes back to draft), in the upload's transaction.
// The package it replaces is removed (its content stays in the store,
// which may share it).
func (s *Service) AttachPackage(tx *gorm.DB, adminID, id, fileID uint64) error {
	_, err := stepTx(tx, id, Edit, Filer, func(*gorm.DB, *models.Filing) (map[string]any, error) {
		return edited(map[string]any{"package_file_id": fileID}, adminID), nil
	})
	if err != nil {
		return err
	}
	return tx.Where("filing_id = ? AND id <> ?", id, fileID).Delete(&models.AppFile{}).Error
}

// AdmitsPackage checks a filing takes a new package now.
func (s *Service) AdmitsPackage(tx *gorm.DB, id uint64) error {
	f, err := get(tx, id)
	if err != nil {
		return err
	}
	_, err = Next(Status(f.Status), Edit, Filer)
	return err
}

// Submit sends a complete filing for review; an incomplete one is
// BAD_USER_INPUT naming every missing field.
func (s *Service) Submit(ctx context.Context, adminID, id uint64) (*models.Filing, error) {
	return s.step(ctx, id, Submit, Filer, func(_ *gorm.DB, f *models.Filing) (map[string]any, error) {
		if missing := Missing(f); len(missing) > 0 {
			labels := make([]string, len(missing))
			for i, m := range missing {
				labels[i] = m.Label
			}
			return nil, models.InvalidField(missing[0].Field, "备案信息不完整，请填写："+strings.Join(labels, "、")+"。")
		}
		return map[string]any{"submitted_by": adminID, "review_note": ""}, nil
	})
}

// Review approves or rejects a submitted filing with the reviewer's
// verdict on each item of 10.3 b–i. Approval needs every item passed; a
// rejection needs a reason. Nobody reviews a filing they filed or
// submitted.
func (s *Service) Review(ctx context.Context, reviewerID, id uint64, approve bool, reason string, checks map[string]bool) (*models.Filing, error) {
	reason, err := validate.Text("reason", "审核意见", reason, 500, "\n")
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, c := range CheckItems {
		known[c.Key] = true
	}
	for k := range checks {
		if !known[k] {
			return nil, models.InvalidField("checks", fmt.Sprintf("没有审核项 %s。", truncate(k, 30)))
		}
	}
	action := Approve
	if approve {
		var failed []string
		for _, c := range CheckItems {
			if !checks[c.Key] {
				failed = append(failed, c.Key)
			}
		}
		if len(failed) > 0 {
			return nil, models.InvalidField("checks", "审核通过须逐项确认10.3 b至i的全部审核项，未确认："+strings.Join(failed, "、")+"。")
		}
	} else {
		action = Reject
		if reason == "" {
			return nil, models.InvalidField("reason", "驳回时请说明理由。")
		}
	}
	return s.step(ctx, id, action, Reviewer, func(_ *gorm.DB, f *models.Filing) (map[string]any, error) {
		if reviewerID == f.FiledBy || reviewerID == f.SubmittedBy || reviewerID == f.LastEditedBy {
			return nil, models.Errorf(models.ECodeForbidden, "不能审核自己填报、修改或提交的备案，请由另一位管理员审核。")
		}
		return map[string]any{"review_note": reason, "reviewed_by": reviewerID, "checklist": jsonChecks(checks)}, nil
	})
}

// GoOnline records that an approved terminal was released.
func (s *Service) GoOnline(ctx context.Context, id uint64) (*models.Filing, error) {
	return s.step(ctx, id, GoOnline, Filer, nil)
}

func (s *Service) step(ctx context.Context, id uint64, action Action, by Role, set func(*gorm.DB, *models.Filing) (map[string]any, error)) (*models.Filing, error) {
	var out *models.Filing
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var err error
		out, err = stepTx(tx, id, action, by, set)
		return err
	})
	return out, err
}

func stepTx(tx *gorm.DB, id uint64, action Action, by Role, set func(*gorm.DB, *models.Filing) (map[string]any, error)) (*models.Filing, error) {
	f, err := get(tx, id)
	if err != nil {
		return nil, err
	}
	to, err := Next(Status(f.Status), action, by)
	if err != nil {
		return nil, err
	}
	cols := map[string]any{}
	if set != nil {
		if cols, err = set(tx, f); err != nil {
			return nil, err
		}
	}
	cols["status"], cols["updated_at"] = string(to), time.Now().UTC()
	res := tx.Model(&models.Filing{}).Where("id = ? AND status = ?", id, f.Status).Updates(cols)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.ECodeConflict, "备案状态刚刚已有变化，请刷新后再试。")
	}
	return get(tx, id)
}

func get(tx *gorm.DB, id uint64) (*models.Filing, error) {
	return database.Take[models.Filing](tx, id, errNotFound)
}

// Get is one filing.
func (s *Service) Get(ctx context.Context, id uint64) (*models.Filing, error) {
	return get(s.db.WithContext(ctx), id)
}

// List is a page of filings, newest first: of one status when given, of
// provinces within a region-code prefix when given, of one department when
// agencyID is not 0.
func (s *Service) List(ctx context.Context, status Status, regionPrefix string, agencyID uint64, first int, afterID uint64) ([]*models.Filing, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Filing{})
	if regionPrefix != "" && agencyID == 0 {
		q = q.Where("kind = ?", string(Provincial)) // a region's administrator sees its province's filing only
	}
	return database.ScopedPage[models.Filing](q, database.Scope{Status: string(status), RegionPrefix: regionPrefix, AgencyID: agencyID}, first, afterID)
}

func jsonChecks(m map[string]bool) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, c := range CheckItems {
		if v, ok := m[c.Key]; ok {
			if !first {
				b.WriteByte(',')
			}
			first = false
			fmt.Fprintf(&b, "%q:%t", c.Key, v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
