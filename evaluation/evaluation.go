package evaluation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"govmobile/cases"
	"govmobile/database"
	"govmobile/idempotency"
	"govmobile/mask"
	"govmobile/messages"
	"govmobile/models"
	"govmobile/validate"
)

// DefaultRectificationDays is the working days an agency has to rectify.
const DefaultRectificationDays = 15

// Bounds on what a citizen writes.
const (
	MaxTags       = 10
	MaxTagRunes   = 20
	MaxComment    = 500
	MaxStaffText  = 1000
	MaxAppealText = 500
)

// Service keeps evaluations and rectifications. Every rectification step
// moves it with a conditional UPDATE on the status it was read in, so two
// requests acting at once make one step and the other answers CONFLICT.
type Service struct {
	db   *gorm.DB
	msgs *messages.Service
	days int
	now  func() time.Time
	// Rated, when set, is told of each new rating after the commit, never
	// of a retry's replay (the app records the behaviour event).
	Rated func(ctx context.Context, e *models.Evaluation)
}

// New returns the service; rectificationDays ≤ 0 means the default. msgs,
// when not nil, tells citizens of their rectifications.
func New(db *gorm.DB, msgs *messages.Service, rectificationDays int) *Service {
	if rectificationDays <= 0 {
		rectificationDays = DefaultRectificationDays
	}
	return &Service{db: db, msgs: msgs, days: rectificationDays, now: time.Now}
}

// Input is what a citizen sends with a rating.
type Input struct {
	Level   Level
	Tags    []string
	Comment string
	Key     string // idempotency key
}

// clean checks and tidies the input: a known level, at most MaxTags short
// tags (trimmed, duplicates dropped), a comment of at most MaxComment
// characters, required with a bad rating.
func (in *Input) clean() error {
	if !in.Level.Valid() {
		return models.InvalidField("level", "评价等级只能是非常满意、满意、基本满意、不满意或非常不满意。")
	}
	if len(in.Tags) > MaxTags {
		return models.InvalidField("tags", fmt.Sprintf("标签最多%d个。", MaxTags))
	}
	var tags []string
	for _, t := range in.Tags {
		t = strings.TrimSpace(t)
		if _, err := validate.Text("tags", "标签", t, MaxTagRunes, "\n"); t == "" || err != nil {
			return models.InvalidField("tags", fmt.Sprintf("每个标签应为1到%d个字，且不含控制字符。", MaxTagRunes))
		}
		t = mask.Text(t) // as comments are
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	in.Tags = tags
	var err error
	if in.Comment, err = text("comment", "评价内容", in.Comment, MaxComment); err != nil {
		return err
	}
	if in.Level.Bad() && in.Comment == "" {
		return models.InvalidField("comment", "给出不满意或非常不满意的评价时，请写明原因，便于部门整改。")
	}
	return nil
}

// text trims a free text and checks its length and characters (line
// breaks allowed).
func text(field, name, s string, max int) (string, error) {
	s, err := validate.Text(field, name, s, max, "\n")
	// Identity numbers and phones typed into the text are masked before it
	// is stored or shown (SPEC §4, 9.4.5).
	return mask.Text(s), err
}

// subject is what an evaluation is about, for the statistics.
type subject struct {
	matterID, agencyID, appID uint64
	regionCode                string
}

// EvaluateCase is the applicant rating one of their cases once it is
// finished (completed or refused; not withdrawn). A second rating is
// CONFLICT, unless the first was bad and the agency has since rectified:
// then the citizen may rate once more, and the new rating replaces the old
// in the statistics.
func (s *Service) EvaluateCase(ctx context.Context, userID, caseID uint64, in Input) (*models.Evaluation, error) {
	return s.evaluate(ctx, userID, models.EvaluateCase, caseID, in, func(tx *gorm.DB) (subject, error) {
		var c struct {
			MatterID, AgencyID uint64
			Status             string
			RegionCode         string
		}
		err := tx.Table("cases").Select("cases.matter_id, cases.agency_id, cases.status, matters.region_code").
			Joins("JOIN matters ON matters.id = cases.matter_id").
			Where("cases.id = ? AND cases.user_id = ?", caseID, userID).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return subject{}, models.Errorf(models.ECodeNotFound, "没有找到这个办件。")
		}
		if err != nil {
			return subject{}, err
		}
		if st := cases.Status(c.Status); st != cases.Completed && st != cases.Rejected {
			return subject{}, models.Errorf(models.ECodeConflict, "办件办结后才能评价。")
		}
		return subject{matterID: c.MatterID, agencyID: c.AgencyID, regionCode: c.RegionCode}, nil
	})
}

// EvaluateApp is a citizen rating a service application that is online;
// once, and once more after a bad rating is rectified, as for cases. App
// ratings are handled by the platform's administrators.
func (s *Service) EvaluateApp(ctx context.Context, userID, appID uint64, in Input) (*models.Evaluation, error) {
	return s.evaluate(ctx, userID, models.EvaluateApp, appID, in, func(tx *gorm.DB) (subject, error) {
		var a models.App
		err := tx.Select("id", "region_code", "online").Where("id = ? AND online = ?", appID, true).Take(&a).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return subject{}, models.Errorf(models.ECodeNotFound, "没有找到这个服务应用。")
		}
		return subject{appID: a.ID, regionCode: a.RegionCode}, err
	})
}

func (s *Service) evaluate(ctx context.Context, userID uint64, target string, targetID uint64, in Input, load func(tx *gorm.DB) (subject, error)) (*models.Evaluation, error) {
	if err := idempotency.Check(in.Key); err != nil {
		return nil, err
	}
	if err := in.clean(); err != nil {
		return nil, err
	}
	op := "evaluation." + strings.ToLower(target)
	request := []string{fmt.Sprint(targetID), string(in.Level), strings.Join(in.Tags, "\x00"), in.Comment}
	var out *models.Evaluation
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := idempotency.Claim(tx, userID, in.Key, op, request...); err != nil {
			return err
		}
		subj, err := load(tx)
		if err != nil {
			return err
		}
		round, err := s.nextRound(tx, userID, target, targetID)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		e := &models.Evaluation{UserID: userID, Target: target, TargetID: targetID, Round: round, Level: string(in.Level),
			Tags: in.Tags, Comment: in.Comment, MatterID: subj.matterID, AgencyID: subj.agencyID, AppID: subj.appID,
			RegionCode: subj.regionCode, Current: true, CreatedAt: now}
		if err := tx.Create(e).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
			return errEvaluated
		} else if err != nil {
			return err
		}
		// A bad first rating opens a rectification; a bad second one is
		// recorded (the agency has already answered once).
		if in.Level.Bad() && round == 1 {
			r := &models.Rectification{EvaluationID: e.ID, UserID: userID, AgencyID: subj.agencyID, Status: string(Open),
				Deadline: AddWorkingDays(now, s.days), CreatedAt: now, UpdatedAt: now}
			if err := tx.Create(r).Error; err != nil {
				return err
			}
		}
		out = e
		return idempotency.Settle(tx, userID, in.Key, e.ID)
	})
	if errors.Is(err, idempotency.ErrUsed) {
		id, err := idempotency.Result(ctx, s.db, userID, in.Key, op, request...)
		if err != nil {
			return nil, err
		}
		return s.Mine(ctx, userID, id)
	}
	if err == nil && s.Rated != nil {
		s.Rated(ctx, out)
	}
	return out, err
}

var errEvaluated = models.Errorf(models.ECodeConflict, "已经评价过了；差评经部门整改后，可以再评价一次。")

// nextRound is the round of a new rating by the user: 1 for the first;
// 2 when the first was bad and its rectification is done, which closes the
// rectification and retires the first rating from the statistics; else
// CONFLICT.
func (s *Service) nextRound(tx *gorm.DB, userID uint64, target string, targetID uint64) (int, error) {
	var prev models.Evaluation
	err := tx.Where("user_id = ? AND target = ? AND target_id = ? AND current = ?", userID, target, targetID, true).
		Order("round DESC").Take(&prev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 1, nil
	}
	if err != nil {
		return 0, err
	}
	var r models.Rectification
	if err := tx.Where("evaluation_id = ?", prev.ID).Take(&r).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, errEvaluated
	} else if err != nil {
		return 0, err
	}
	if Status(r.Status) != Rectified {
		if Status(r.Status) == Open || Status(r.Status) == Appealed {
			return 0, models.Errorf(models.ECodeConflict, "部门正在处理您的评价（%s），整改完成后可以再评价一次。", Status(r.Status).Label())
		}
		return 0, errEvaluated
	}
	if err := s.move(tx, &r, Reevaluate, Citizen, 0, nil); err != nil {
		return 0, err
	}
	if err := tx.Model(&models.Evaluation{}).Where("id = ?", prev.ID).Update("current", false).Error; err != nil {
		return 0, err
	}
	return prev.Round + 1, nil
}

// move takes a step on a rectification, if its status has not changed
// since it was read, with the columns the step sets.
func (s *Service) move(tx *gorm.DB, r *models.Rectification, action Action, by Actor, handler uint64, set map[string]any) error {
	to, err := Next(Status(r.Status), action, by)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	updates := map[string]any{"status": string(to), "updated_at": now}
	if handler != 0 {
		updates["handled_by"] = handler
	}
	for k, v := range set {
		updates[k] = v
	}
	res := tx.Model(&models.Rectification{}).Where("id = ? AND status = ?", r.ID, r.Status).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeConflict, "整改状态刚刚已有变化，请刷新后再试。")
	}
	r.Status, r.UpdatedAt = string(to), now
	return nil
}

// Handler is who handles rectifications: an agency's staff member
// (AgencyID), or a platform administrator (AgencyID 0), who handles app
// ratings and reviews appeals. That they hold the permission an operation
// needs is the schema directive's to check.
type Handler struct {
	AdminID  uint64
	AgencyID uint64
	// RegionPrefix is the region-code prefix of a platform administrator's
	// region ("" for a nationwide one): they handle the app ratings and
	// review the appeals of evaluations of that region only.
	RegionPrefix string
}

// canHandle reports whether the handler answers for the rectification: the
// staff of its agency; a platform administrator for an app's.
func (h Handler) canHandle(r *models.Rectification) bool {
	if r.AgencyID == 0 {
		return h.AgencyID == 0
	}
	return h.AgencyID == r.AgencyID
}

var errRectificationNotFound = models.Errorf(models.ECodeNotFound, "没有找到这项整改。")

// loadFor loads a rectification the handler answers for; any other is
// NOT_FOUND.
func loadFor(tx *gorm.DB, h Handler, id uint64, reviewing bool) (*models.Rectification, error) {
	var r models.Rectification
	if err := tx.Take(&r, id).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errRectificationNotFound
	} else if err != nil {
		return nil, err
	}
	if reviewing {
		if h.AgencyID != 0 {
			return nil, models.Errorf(models.ECodeForbidden, "只有平台管理员可以复核申诉。")
		}
	} else if !h.canHandle(&r) {
		return nil, errRectificationNotFound
	}
	if h.AgencyID == 0 && h.RegionPrefix != "" {
		// A platform administrator of a region: of its evaluations only.
		var region []string
		if err := tx.Model(&models.Evaluation{}).Where("id = ?", r.EvaluationID).Pluck("region_code", &region).Error; err != nil {
			return nil, err
		}
		if len(region) != 1 || !strings.HasPrefix(region[0], h.RegionPrefix) {
			return nil, errRectificationNotFound
		}
	}
	return &r, nil
}

// Rectify records what the agency changed and its reply to the citizen,
// who is told and may rate again.
func (s *Service) Rectify(ctx context.Context, h Handler, id uint64, measures, reply string) (*models.Rectification, error) {
	var err error
	if measures, err = text("measures", "整改措施", measures, MaxStaffText); err != nil {
		return nil, err
	}
	if reply, err = text("reply", "答复", reply, MaxStaffText); err != nil {
		return nil, err
	}
	if measures == "" {
		return nil, models.InvalidField("measures", "请填写整改措施。")
	}
	if reply == "" {
		return nil, models.InvalidField("reply", "请填写给评价人的答复。")
	}
	return s.step(ctx, h, id, false, Rectify, Agency, func(r *models.Rectification, now time.Time) (map[string]any, error) {
		return map[string]any{"measures": measures, "reply": reply, "rectified_at": now}, nil
	}, func(r *models.Rectification) *models.Message {
		return &models.Message{UserID: r.UserID, Title: "您的评价已整改",
			Body: "部门已对您的评价进行整改。答复：" + reply + " 您可以重新评价一次。"}
	})
}

// Appeal is the agency saying a rating is malicious, for a platform
// administrator to re-check; only before it has rectified.
func (s *Service) Appeal(ctx context.Context, h Handler, id uint64, reason string) (*models.Rectification, error) {
	reason, err := text("reason", "申诉理由", reason, MaxAppealText)
	if err != nil {
		return nil, err
	}
	if reason == "" {
		return nil, models.InvalidField("reason", "请写明申诉理由。")
	}
	return s.step(ctx, h, id, false, Appeal, Agency, func(r *models.Rectification, _ time.Time) (map[string]any, error) {
		if r.AppealedBy != 0 {
			return nil, models.Errorf(models.ECodeConflict, "这条评价已经申诉过一次（申诉未获支持），请登记整改。")
		}
		return map[string]any{"appeal_reason": reason, "appealed_by": h.AdminID}, nil
	}, nil)
}

// ReviewAppeal is a platform administrator's decision on an appeal: upheld,
// the rating no longer counts, and the citizen is told; rejected, the
// agency must rectify (it may not appeal again). The administrator who
// filed an appeal (a platform administrator, for an app's rating) does not
// review it.
func (s *Service) ReviewAppeal(ctx context.Context, h Handler, id uint64, uphold bool, note string) (*models.Rectification, error) {
	note, err := text("note", "复核意见", note, MaxAppealText)
	if err != nil {
		return nil, err
	}
	if note == "" {
		return nil, models.InvalidField("note", "请写明复核意见。")
	}
	action := RejectAppeal
	if uphold {
		action = UpholdAppeal
	}
	return s.step(ctx, h, id, true, action, Reviewer, func(r *models.Rectification, _ time.Time) (map[string]any, error) {
		if r.AppealedBy == h.AdminID {
			return nil, models.Errorf(models.ECodeForbidden, "申诉人不能复核自己的申诉，请由另一位平台管理员复核。")
		}
		return map[string]any{"review_note": note}, nil
	}, func(r *models.Rectification) *models.Message {
		if uphold {
			return &models.Message{UserID: r.UserID, Title: "您的评价经复核不予采纳", Body: "复核意见：" + note}
		}
		return nil
	})
}

// step loads a rectification for the handler, moves it, and tells the
// citizen (tell may be nil, or return nil for no message).
func (s *Service) step(ctx context.Context, h Handler, id uint64, reviewing bool, action Action, by Actor,
	set func(*models.Rectification, time.Time) (map[string]any, error), tell func(*models.Rectification) *models.Message) (*models.Rectification, error) {
	var out *models.Rectification
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		r, err := loadFor(tx, h, id, reviewing)
		if err != nil {
			return err
		}
		if _, err := Next(Status(r.Status), action, by); err != nil {
			return err
		}
		cols, err := set(r, s.now().UTC())
		if err != nil {
			return err
		}
		if err := s.move(tx, r, action, by, h.AdminID, cols); err != nil {
			return err
		}
		if Status(r.Status) == Voided {
			if err := tx.Model(&models.Evaluation{}).Where("id = ?", r.EvaluationID).Update("voided", true).Error; err != nil {
				return err
			}
		}
		if err := tx.Take(r, r.ID).Error; err != nil {
			return err
		}
		if tell != nil && s.msgs != nil {
			if m := tell(r); m != nil {
				m.Target, m.TargetID = models.TargetEvaluation, r.EvaluationID
				if err := ob.Write(tx, m); err != nil {
					return err
				}
			}
		}
		out = r
		return nil
	})
	return out, err
}

// Mine is one of the user's evaluations; another user's is NOT_FOUND.
func (s *Service) Mine(ctx context.Context, userID, id uint64) (*models.Evaluation, error) {
	var e models.Evaluation
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这条评价。")
	}
	return &e, err
}

// Latest is the user's current rating of a target, or nil.
func (s *Service) Latest(ctx context.Context, userID uint64, target string, targetID uint64) (*models.Evaluation, error) {
	var e models.Evaluation
	err := s.db.WithContext(ctx).Where("user_id = ? AND target = ? AND target_id = ? AND current = ?", userID, target, targetID, true).
		Order("round DESC").Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &e, err
}

// List is a page of the user's evaluations, newest first, after the given
// ID (0 for the first page), and their total.
func (s *Service) List(ctx context.Context, userID uint64, first int, afterID uint64) ([]*models.Evaluation, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Evaluation{}).Where("user_id = ?", userID)
	return database.NewestFirst[models.Evaluation](q, first, afterID)
}

// Rectification is the rectification of an evaluation, or nil.
func (s *Service) Rectification(ctx context.Context, evaluationID uint64) (*models.Rectification, error) {
	var r models.Rectification
	err := s.db.WithContext(ctx).Where("evaluation_id = ?", evaluationID).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &r, err
}

// Rectifications is a page of the rectifications a handler answers for
// (for a reviewer with appeals, the appealed ones of every agency), newest
// first, optionally of one status, and their total.
func (s *Service) Rectifications(ctx context.Context, h Handler, status Status, appeals bool, first int, afterID uint64) ([]*models.Rectification, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Rectification{})
	switch {
	case appeals:
		if h.AgencyID != 0 {
			return nil, 0, models.Errorf(models.ECodeForbidden, "只有平台管理员可以复核申诉。")
		}
		q = q.Where("status = ?", string(Appealed))
	case h.AgencyID != 0:
		q = q.Where("agency_id = ?", h.AgencyID)
	default:
		q = q.Where("agency_id = 0")
	}
	if h.AgencyID == 0 && h.RegionPrefix != "" {
		q = q.Where("evaluation_id IN (?)", s.db.Model(&models.Evaluation{}).Select("id").Where("region_code LIKE ?", h.RegionPrefix+"%"))
	}
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	return database.NewestFirst[models.Rectification](q, first, afterID)
}

// Evaluation loads the evaluation a rectification follows (for its
// handlers, who see the rating and comment, never who wrote it).
func (s *Service) Evaluation(ctx context.Context, id uint64) (*models.Evaluation, error) {
	var e models.Evaluation
	err := s.db.WithContext(ctx).Take(&e, id).Error
	return &e, err
}

// AddWorkingDays is the moment n working days (Monday to Friday, in
// China's time zone) after t. Public holidays and the weekend days worked
// in their place are not known here: around a holiday the deadline falls
// earlier than the official count, never later.
func AddWorkingDays(t time.Time, n int) time.Time {
	cst := time.FixedZone("CST", 8*3600)
	d := t.In(cst)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return d.UTC()
}
