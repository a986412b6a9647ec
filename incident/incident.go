// Package incident keeps operations incidents (运维事件, 8.6): opened by
// hand or from an interface alert, owned by an administrator, moved
// through investigation and mitigation to resolution with a timeline of
// every step, and linked to the runbook of their kind.
//
// It must never lose a step: each status change is written in one
// transaction with its timeline entry, and a step that lost a race is
// CONFLICT, not applied twice.
package incident

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/models"
	"govmobile/statemachine"
)

// Status is where an incident stands.
type Status string

// The statuses.
const (
	Open          Status = "OPEN"          // reported, nobody on it yet
	Investigating Status = "INVESTIGATING" // someone is finding the cause
	Mitigated     Status = "MITIGATED"     // the impact is contained, the cause not yet removed
	Resolved      Status = "RESOLVED"      // over
)

// Action is a step.
type Action string

// The steps. COMMENT adds a note without moving the status.
const (
	Investigate Action = "INVESTIGATE"
	Mitigate    Action = "MITIGATE"
	Resolve     Action = "RESOLVE"
	Reopen      Action = "REOPEN"
	Comment     Action = "COMMENT"
	OpenAction  Action = "OPEN"   // the first entry of every timeline
	Assign      Action = "ASSIGN" // a new owner
)

// Label is the status in Chinese.
func (s Status) Label() string {
	return map[Status]string{Open: "待处理", Investigating: "排查中", Mitigated: "已缓解", Resolved: "已解决"}[s]
}

// Label is the step in Chinese.
func (a Action) Label() string {
	return map[Action]string{Investigate: "开始排查", Mitigate: "标记已缓解", Resolve: "标记已解决", Reopen: "重新打开",
		Comment: "备注", OpenAction: "创建", Assign: "指派"}[a]
}

type actor struct{}

var machine = statemachine.Machine[Status, Action, actor]{Subject: "运维事件", Transitions: map[Status]map[Action]Status{
	Open:          {Investigate: Investigating, Mitigate: Mitigated, Resolve: Resolved},
	Investigating: {Mitigate: Mitigated, Resolve: Resolved},
	Mitigated:     {Investigate: Investigating, Resolve: Resolved},
	Resolved:      {Reopen: Open},
}, Actors: map[Action]actor{Investigate: {}, Mitigate: {}, Resolve: {}, Reopen: {}}}

// Next is where action takes an incident in status from.
func Next(from Status, a Action) (Status, error) { return machine.Next(from, a, actor{}) }

// Kinds are the kinds of incident, each with its runbook: the interface
// alert outcomes, and the other things that go wrong on a platform.
var Kinds = []string{"INTERFACE_SLOW", "INTERFACE_FAILED", "INTERFACE_TIMEOUT", "APP_OFFLINE", "PAYMENT", "LOGISTICS", "DATABASE", "SECURITY", "OTHER"}

// Severities, worst first.
var Severities = []string{"CRITICAL", "MAJOR", "MINOR"}

// Service keeps incidents and runbooks.
type Service struct {
	db  *gorm.DB
	now func() time.Time
}

// New returns the incident service.
func New(db *gorm.DB) *Service {
	return &Service{db: db, now: func() time.Time { return time.Now().UTC() }}
}

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个运维事件。")

// Input opens an incident.
type Input struct {
	Title, Kind, Severity, Summary string
	OwnerID                        uint64
	// AlertID, when set, opens the incident from that interface alert: its
	// kind follows the alert's.
	AlertID uint64
}

func one(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func text(field, label, v string, min, max int) (string, error) {
	v = strings.TrimSpace(v)
	if n := utf8.RuneCountInString(v); n < min || n > max {
		if min == 0 {
			return "", models.InvalidField(field, label+"不能超过"+strconv.Itoa(max)+"字。")
		}
		return "", models.InvalidField(field, "请填写"+label+"（"+strconv.Itoa(min)+"至"+strconv.Itoa(max)+"字）。")
	}
	return v, nil
}

// Open opens an incident by hand, or from an interface alert (once per
// alert: opening it again is CONFLICT).
func (s *Service) Open(ctx context.Context, by uint64, in Input) (*models.Incident, error) {
	var err error
	if in.Title, err = text("title", "标题", in.Title, 1, 100); err != nil {
		return nil, err
	}
	if in.Summary, err = text("summary", "情况说明", in.Summary, 0, 1000); err != nil {
		return nil, err
	}
	if !one(Severities, in.Severity) {
		return nil, models.InvalidField("severity", "级别只能是 CRITICAL、MAJOR 或 MINOR。")
	}
	inc := &models.Incident{Title: in.Title, Severity: in.Severity, Summary: in.Summary, Status: string(Open), OwnerID: in.OwnerID, OpenedBy: by}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		inc.ID, inc.Kind = 0, in.Kind
		if in.AlertID != 0 {
			var a models.InterfaceAlert
			if err := tx.Take(&a, in.AlertID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
				return models.Errorf(models.ECodeNotFound, "没有找到这条预警。")
			} else if err != nil {
				return err
			}
			id := a.ID
			inc.AlertID, inc.Kind = &id, "INTERFACE_"+a.Kind
		}
		if !one(Kinds, inc.Kind) {
			return models.InvalidField("kind", "事件类型不正确。")
		}
		if err := s.checkOwner(tx, in.OwnerID); err != nil {
			return err
		}
		if err := tx.Create(inc).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return models.Errorf(models.ECodeConflict, "这条预警已创建过运维事件。")
		} else if err != nil {
			return err
		}
		return s.step(tx, inc.ID, OpenAction, "", Open, in.Summary, by)
	})
	if err != nil {
		return nil, err
	}
	return inc, nil
}

func (s *Service) checkOwner(tx *gorm.DB, id uint64) error {
	if id == 0 {
		return nil
	}
	var n int64
	if err := tx.Model(&models.Admin{}).Where("id = ? AND disabled = ?", id, false).Count(&n).Error; err != nil {
		return err
	}
	if n == 0 {
		return models.InvalidField("owner", "负责人不存在或已停用。")
	}
	return nil
}

func (s *Service) step(tx *gorm.DB, id uint64, a Action, from, to Status, note string, by uint64) error {
	return tx.Create(&models.IncidentEvent{IncidentID: id, Action: string(a), FromStatus: string(from), ToStatus: string(to),
		Note: note, AdminID: by, At: s.now()}).Error
}

// Get reads an incident.
func (s *Service) Get(ctx context.Context, id uint64) (*models.Incident, error) {
	return database.Take[models.Incident](s.db.WithContext(ctx), id, errNotFound)
}

// List is a page of incidents, newest first, of one status when given.
func (s *Service) List(ctx context.Context, status Status, first int, afterID uint64) ([]*models.Incident, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Incident{})
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	return database.NewestFirst[models.Incident](q, first, afterID)
}

// Timeline is an incident's steps, oldest first.
func (s *Service) Timeline(ctx context.Context, id uint64) ([]*models.IncidentEvent, error) {
	var out []*models.IncidentEvent
	return out, s.db.WithContext(ctx).Where("incident_id = ?", id).Order("id").Find(&out).Error
}

// Act takes a step (or adds a comment) with a note; resolving needs one.
func (s *Service) Act(ctx context.Context, by, id uint64, a Action, note string) (*models.Incident, error) {
	note, err := text("note", "说明", note, 0, 1000)
	if err != nil {
		return nil, err
	}
	if a == Comment && note == "" {
		return nil, models.InvalidField("note", "请填写备注内容。")
	}
	if a == Resolve && note == "" {
		return nil, models.InvalidField("note", "解决时请说明原因和处理结果。")
	}
	var inc models.Incident
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := tx.Take(&inc, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		from := Status(inc.Status)
		if a == Comment {
			return s.step(tx, id, a, from, from, note, by)
		}
		to, err := Next(from, a)
		if err != nil {
			return err
		}
		cols := map[string]any{"status": string(to), "updated_at": s.now(), "resolved_at": nil}
		if to == Resolved {
			cols["resolved_at"] = s.now()
		}
		res := tx.Model(&models.Incident{}).Where("id = ? AND status = ?", id, string(from)).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "运维事件的状态刚刚发生变化，请刷新后重试。")
		}
		inc.Status = string(to)
		return s.step(tx, id, a, from, to, note, by)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// AssignTo gives an incident a new owner.
func (s *Service) AssignTo(ctx context.Context, by, id, owner uint64, note string) (*models.Incident, error) {
	note, err := text("note", "说明", note, 0, 1000)
	if err != nil {
		return nil, err
	}
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var inc models.Incident
		if err := tx.Take(&inc, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		if err := s.checkOwner(tx, owner); err != nil {
			return err
		}
		if err := tx.Model(&inc).Updates(map[string]any{"owner_id": owner, "updated_at": s.now()}).Error; err != nil {
			return err
		}
		return s.step(tx, id, Assign, Status(inc.Status), Status(inc.Status), note, by)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Runbooks are the runbooks set so far.
func (s *Service) Runbooks(ctx context.Context) ([]*models.Runbook, error) {
	var out []*models.Runbook
	return out, s.db.WithContext(ctx).Order("kind").Find(&out).Error
}

// Runbook is the runbook of a kind; nil when none is set.
func (s *Service) Runbook(ctx context.Context, kind string) (*models.Runbook, error) {
	var rb models.Runbook
	err := s.db.WithContext(ctx).Where("kind = ?", kind).Take(&rb).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &rb, err
}

// SetRunbook sets the runbook of a kind: a title and an https address
// (http only on an intranet address is the operator's choice; the link is
// shown, never fetched).
func (s *Service) SetRunbook(ctx context.Context, by uint64, kind, title, link string) (*models.Runbook, error) {
	if !one(Kinds, kind) {
		return nil, models.InvalidField("kind", "事件类型不正确。")
	}
	title, err := text("title", "手册标题", title, 1, 100)
	if err != nil {
		return nil, err
	}
	link = strings.TrimSpace(link)
	u, err := url.Parse(link)
	if err != nil || len(link) > 500 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, models.InvalidField("url", "手册地址应为 http(s):// 开头的网址，至多500个字符。")
	}
	rb := &models.Runbook{Kind: kind, Title: title, URL: link, UpdatedBy: by, UpdatedAt: s.now()}
	return rb, s.db.WithContext(ctx).Save(rb).Error
}

// OwnerID finds an owner by username: an administrator not disabled.
func (s *Service) OwnerID(ctx context.Context, username string) (uint64, error) {
	var a models.Admin
	err := s.db.WithContext(ctx).Where("username = ? AND disabled = ?", strings.TrimSpace(username), false).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, models.InvalidField("owner", "负责人不存在或已停用。")
	}
	return a.ID, err
}

// AdminName is an administrator's username ("" for none).
func (s *Service) AdminName(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return "", nil
	}
	var names []string
	err := s.db.WithContext(ctx).Model(&models.Admin{}).Where("id = ?", id).Limit(1).Pluck("username", &names).Error
	if err != nil || len(names) == 0 {
		return "", err
	}
	return names[0], nil
}
