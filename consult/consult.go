package consult

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/evaluation"
	"govmobile/idempotency"
	"govmobile/mask"
	"govmobile/messages"
	"govmobile/models"
	"govmobile/search"
	"govmobile/validate"
)

// Bounds on what is written.
const (
	MaxTitle   = 60
	MaxContent = 2000
	MaxReply   = 2000
	MaxNote    = 500
	// MaxDrafts bounds one user's drafts.
	MaxDrafts = 50
)

// Service keeps consultations. Every step moves a consultation with a
// conditional UPDATE on the status it was read in, in the transaction that
// records the step: two staff acting at once make one step, and the other
// answers CONFLICT. A citizen sees only their own; staff only their
// agency's, once submitted; anything else is NOT_FOUND.
type Service struct {
	db   *gorm.DB
	msgs *messages.Service
	now  func() time.Time
	// indexed, when set, wakes the search index's applier after a
	// consultation is queued for it.
	indexed func()
}

// SetIndexed sets what wakes the search index after a submission.
func (s *Service) SetIndexed(f func()) { s.indexed = f }

// New returns the service; msgs, when not nil, tells citizens of replies.
func New(db *gorm.DB, msgs *messages.Service) *Service {
	return &Service{db: db, msgs: msgs, now: time.Now}
}

// Input is what a citizen writes: the kind, what it is about (a matter, or
// an agency), a title and the text.
type Input struct {
	Kind     Kind
	MatterID uint64
	AgencyID uint64
	Title    string
	Content  string
}

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这条咨询投诉。")

// clean checks a draft's fields; complete requires what submitting needs.
func (d *Input) clean(complete bool) error {
	if d.Kind != Consultation && d.Kind != Complaint && d.Kind != Suggestion {
		return models.InvalidField("kind", "类型只能是咨询、投诉或建议。")
	}
	var err error
	if d.Title, err = text("title", "标题", d.Title, MaxTitle, false); err != nil {
		return err
	}
	if d.Content, err = text("content", "内容", d.Content, MaxContent, true); err != nil {
		return err
	}
	if complete {
		switch {
		case d.Title == "":
			return models.InvalidField("title", "请填写标题。")
		case d.Content == "":
			return models.InvalidField("content", "请填写内容。")
		case d.MatterID == 0 && d.AgencyID == 0:
			return models.InvalidField("matterId", "请选择所涉及的事项或部门。")
		}
	}
	return nil
}

// text trims a text and checks its length and characters; multiline allows
// line breaks and tabs.
func text(field, name, s string, max int, multiline bool) (string, error) {
	allowed := ""
	if multiline {
		allowed = "\n\r\t"
	}
	s, err := validate.Text(field, name, s, max, allowed)
	// Identity numbers and phones typed into the text are masked before it
	// is stored or shown (SPEC §4, 9.4.5).
	return mask.Text(s), err
}

// resolveAgency fills the agency from the matter (a matter's agency is the
// one that answers), checking both exist and agree.
func resolveAgency(tx *gorm.DB, d *Input) error {
	if d.MatterID != 0 {
		var m models.Matter
		if err := tx.Select("id", "agency_id").Take(&m, d.MatterID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return models.Errorf(models.ECodeNotFound, "没有找到这个事项。")
		} else if err != nil {
			return err
		}
		if d.AgencyID != 0 && d.AgencyID != m.AgencyID {
			return models.InvalidField("agencyId", "所选部门不是这个事项的实施部门；选了事项时可以不选部门。")
		}
		d.AgencyID = m.AgencyID
		return nil
	}
	if d.AgencyID != 0 {
		var n int64
		if err := tx.Model(&models.Agency{}).Where("id = ?", d.AgencyID).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return models.Errorf(models.ECodeNotFound, "没有找到这个部门。")
		}
	}
	return nil
}

// SaveDraft creates a draft (id 0) or changes one of the user's drafts.
func (s *Service) SaveDraft(ctx context.Context, userID, id uint64, d Input) (*models.Consultation, error) {
	if err := d.clean(false); err != nil {
		return nil, err
	}
	var out *models.Consultation
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := resolveAgency(tx, &d); err != nil {
			return err
		}
		c, err := s.draft(tx, userID, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		c.Kind, c.MatterID, c.AgencyID, c.Title, c.Content, c.UpdatedAt = string(d.Kind), d.MatterID, d.AgencyID, d.Title, d.Content, now
		if c.ID == 0 {
			if err := s.create(tx, c); err != nil {
				return err
			}
		} else if res := tx.Model(c).Where("status = ?", string(Draft)).
			Select("kind", "matter_id", "agency_id", "title", "content", "updated_at").Updates(c); res.Error != nil {
			return res.Error
		} else if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "已经提交，不能再作为草稿修改。")
		}
		out = c
		return nil
	})
	return out, err
}

// draft loads one of the user's drafts, or starts a new one (id 0) within
// the user's bound on drafts.
func (s *Service) draft(tx *gorm.DB, userID, id uint64) (*models.Consultation, error) {
	if id == 0 {
		var n int64
		if err := tx.Model(&models.Consultation{}).Where("user_id = ? AND status = ?", userID, string(Draft)).Count(&n).Error; err != nil {
			return nil, err
		}
		if n >= MaxDrafts {
			return nil, models.Errorf(models.ECodeConflict, "草稿最多保存%d份，请先提交或删除不用的草稿。", MaxDrafts)
		}
		now := s.now().UTC()
		return &models.Consultation{UserID: userID, Status: string(Draft), CreatedAt: now, UpdatedAt: now}, nil
	}
	c, err := s.own(tx, userID, id)
	if err != nil {
		return nil, err
	}
	if Status(c.Status) != Draft {
		return nil, models.Errorf(models.ECodeConflict, "已经提交，不能再作为草稿修改。")
	}
	return c, nil
}

// create inserts a consultation and gives it its number: ZX, the day, the ID.
func (s *Service) create(tx *gorm.DB, c *models.Consultation) error {
	c.Number = fmt.Sprintf("P%d-%d", c.UserID, c.CreatedAt.UnixNano())
	if err := tx.Create(c).Error; err != nil {
		return err
	}
	c.Number = fmt.Sprintf("ZX%s%08d", c.CreatedAt.In(time.FixedZone("CST", 8*3600)).Format("20060102"), c.ID)
	return tx.Model(c).UpdateColumn("number", c.Number).Error
}

// Submit submits one of the user's drafts (id), or a new consultation in
// one step (id 0 and d). A key already used for the same submission
// returns the first result and submits nothing.
func (s *Service) Submit(ctx context.Context, userID, id uint64, d *Input, key string) (*models.Consultation, error) {
	if err := idempotency.Check(key); err != nil {
		return nil, err
	}
	request := []string{fmt.Sprint(id)}
	if d != nil {
		if err := d.clean(true); err != nil {
			return nil, err
		}
		request = append(request, string(d.Kind), fmt.Sprint(d.MatterID), fmt.Sprint(d.AgencyID), d.Title, d.Content)
	}
	const op = "consultation.submit"
	var out *models.Consultation
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := idempotency.Claim(tx, userID, key, op, request...); err != nil {
			return err
		}
		c, err := s.draft(tx, userID, id)
		if err != nil {
			return err
		}
		if d != nil {
			c.Kind, c.MatterID, c.AgencyID, c.Title, c.Content = string(d.Kind), d.MatterID, d.AgencyID, d.Title, d.Content
		} else if c.MatterID != 0 {
			c.AgencyID = 0 // the matter's agency now, not when drafted
		}
		in := Input{Kind: Kind(c.Kind), MatterID: c.MatterID, AgencyID: c.AgencyID}
		if err := resolveAgency(tx, &in); err != nil {
			return err
		}
		c.AgencyID = in.AgencyID
		saved := Input{Kind: Kind(c.Kind), MatterID: c.MatterID, AgencyID: c.AgencyID, Title: c.Title, Content: c.Content}
		if err := saved.clean(true); err != nil {
			return err
		}
		now := s.now().UTC()
		c.SubmittedAt = &now
		if c.ID == 0 {
			if err := s.create(tx, c); err != nil {
				return err
			}
		} else if err := tx.Model(c).Select("kind", "matter_id", "agency_id", "title", "content", "submitted_at").Updates(c).Error; err != nil {
			return err
		}
		if err := s.move(tx, c, Submit, Citizen, userID, ""); err != nil {
			return err
		}
		// Submitted consultations are searchable by their author and agency.
		if err := search.Enqueue(tx, models.DocConsultation, c.ID); err != nil {
			return err
		}
		out = c
		return idempotency.Settle(tx, userID, key, c.ID)
	})
	if err == nil && s.indexed != nil {
		s.indexed()
	}
	if errors.Is(err, idempotency.ErrUsed) {
		first, err := idempotency.Result(ctx, s.db, userID, key, op, request...)
		if err != nil {
			return nil, err
		}
		return s.Mine(ctx, userID, first)
	}
	return out, err
}

// DeleteDraft discards one of the user's drafts and its attachments.
func (s *Service) DeleteDraft(ctx context.Context, userID, id uint64) error {
	return database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if _, err := s.own(tx, userID, id); err != nil {
			return err
		}
		res := tx.Where("id = ? AND status = ?", id, string(Draft)).Delete(&models.Consultation{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "已经提交，不能删除。")
		}
		return tx.Where("consultation_id = ?", id).Delete(&models.ConsultationFile{}).Error
	})
}

// Clerk is an agency's staff member.
type Clerk struct {
	AdminID  uint64
	AgencyID uint64
}

// Assign gives a submitted (or assigned) consultation to a staff member of
// its agency: assigneeID, or the caller when 0.
func (s *Service) Assign(ctx context.Context, st Clerk, id, assigneeID uint64) (*models.Consultation, error) {
	if assigneeID == 0 {
		assigneeID = st.AdminID
	}
	return s.staffStep(ctx, st, id, Assign, "", func(tx *gorm.DB, c *models.Consultation) (map[string]any, error) {
		var n int64
		if err := tx.Model(&models.Admin{}).Where("id = ? AND agency_id = ?", assigneeID, st.AgencyID).Count(&n).Error; err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, models.InvalidField("assignee", "只能分派给本部门的工作人员。")
		}
		return map[string]any{"assignee_id": assigneeID}, nil
	}, nil)
}

// Reply answers an assigned consultation; the citizen is told.
func (s *Service) Reply(ctx context.Context, st Clerk, id uint64, reply string) (*models.Consultation, error) {
	reply, err := text("reply", "答复", reply, MaxReply, true)
	if err != nil {
		return nil, err
	}
	if reply == "" {
		return nil, models.InvalidField("reply", "请填写答复内容。")
	}
	return s.staffStep(ctx, st, id, Reply, "", func(tx *gorm.DB, c *models.Consultation) (map[string]any, error) {
		return map[string]any{"reply": reply, "replied_at": s.now().UTC()}, nil
	}, func(c *models.Consultation) *models.Message {
		return &models.Message{UserID: c.UserID, Title: fmt.Sprintf("您的%s已答复", Kind(c.Kind).Label()),
			Body: fmt.Sprintf("%s“%s”的答复：%s", c.Number, c.Title, reply)}
	})
}

// Close closes a replied consultation, with an optional note.
func (s *Service) Close(ctx context.Context, st Clerk, id uint64, note string) (*models.Consultation, error) {
	note, err := text("note", "说明", note, MaxNote, true)
	if err != nil {
		return nil, err
	}
	return s.staffStep(ctx, st, id, Close, note, nil, func(c *models.Consultation) *models.Message {
		return &models.Message{UserID: c.UserID, Title: fmt.Sprintf("您的%s已办结", Kind(c.Kind).Label()),
			Body: fmt.Sprintf("%s“%s”已办结。%s", c.Number, c.Title, note)}
	})
}

// staffStep loads a consultation of the staff member's agency, moves it
// (with the columns set returns), and tells the citizen (tell may be nil).
func (s *Service) staffStep(ctx context.Context, st Clerk, id uint64, action Action, note string,
	set func(tx *gorm.DB, c *models.Consultation) (map[string]any, error), tell func(*models.Consultation) *models.Message) (*models.Consultation, error) {
	if st.AgencyID == 0 {
		return nil, models.Errorf(models.ECodeForbidden, "只有部门的工作人员可以处理咨询投诉。")
	}
	var out *models.Consultation
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		var c models.Consultation
		err := tx.Where("id = ? AND agency_id = ? AND status <> ?", id, st.AgencyID, string(Draft)).Take(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errNotFound
		} else if err != nil {
			return err
		}
		if _, err := Next(Status(c.Status), action, Staff); err != nil {
			return err
		}
		if set != nil {
			cols, err := set(tx, &c)
			if err != nil {
				return err
			}
			if err := tx.Model(&models.Consultation{}).Where("id = ?", c.ID).Updates(cols).Error; err != nil {
				return err
			}
		}
		if err := s.move(tx, &c, action, Staff, st.AdminID, note); err != nil {
			return err
		}
		if err := tx.Take(&c, c.ID).Error; err != nil {
			return err
		}
		if tell != nil && s.msgs != nil {
			m := tell(&c)
			m.Target, m.TargetID = models.TargetConsultation, c.ID
			if err := ob.Write(tx, m); err != nil {
				return err
			}
		}
		out = &c
		return nil
	})
	return out, err
}

// move takes a step if the status has not changed since c was read, and
// records it.
func (s *Service) move(tx *gorm.DB, c *models.Consultation, action Action, by Actor, actorID uint64, note string) error {
	from := Status(c.Status)
	to, err := Next(from, action, by)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	res := tx.Model(&models.Consultation{}).Where("id = ? AND status = ?", c.ID, string(from)).
		Updates(map[string]any{"status": string(to), "updated_at": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeConflict, "状态刚刚已有变化，请刷新后再试。")
	}
	c.Status, c.UpdatedAt = string(to), now
	return tx.Create(&models.ConsultationEvent{ConsultationID: c.ID, Action: string(action), FromStatus: string(from), ToStatus: string(to),
		Actor: string(by), ActorID: actorID, Note: note, At: now}).Error
}

// Rate is the citizen rating the reply to one of their consultations,
// once, after it is replied to.
func (s *Service) Rate(ctx context.Context, userID, id uint64, level evaluation.Level, comment string) (*models.Consultation, error) {
	if !level.Valid() {
		return nil, models.InvalidField("level", "评价等级只能是非常满意、满意、基本满意、不满意或非常不满意。")
	}
	comment, err := text("comment", "评价内容", comment, MaxNote, true)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	res := s.db.WithContext(ctx).Model(&models.Consultation{}).
		Where("id = ? AND user_id = ? AND status IN ? AND rating = ?", id, userID, []string{string(Replied), string(Closed)}, "").
		Updates(map[string]any{"rating": string(level), "rating_comment": comment, "rated_at": now})
	if res.Error != nil {
		return nil, res.Error
	}
	c, err := s.Mine(ctx, userID, id)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		if c.Rating != "" {
			return nil, models.Errorf(models.ECodeConflict, "已经评价过这条答复。")
		}
		return nil, models.Errorf(models.ECodeConflict, "收到答复后才能评价。")
	}
	return c, nil
}

// Mine is one of the user's consultations; another's is NOT_FOUND.
func (s *Service) Mine(ctx context.Context, userID, id uint64) (*models.Consultation, error) {
	return s.own(s.db.WithContext(ctx), userID, id)
}

func (s *Service) own(db *gorm.DB, userID, id uint64) (*models.Consultation, error) {
	var c models.Consultation
	err := db.Where("id = ? AND user_id = ?", id, userID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	}
	return &c, err
}

// Owner says whose consultations a list holds: a user's (drafts included)
// or an agency's (submitted ones).
type Owner struct {
	UserID   uint64
	AgencyID uint64
}

// scope keeps the owner's consultations: a user's, drafts included; an
// agency's, submitted ones.
func (o Owner) scope(q *gorm.DB) (*gorm.DB, error) {
	switch {
	case o.UserID != 0:
		return q.Where("user_id = ?", o.UserID), nil
	case o.AgencyID != 0:
		return q.Where("agency_id = ? AND status <> ?", o.AgencyID, string(Draft)), nil
	}
	return nil, errors.New("consultations without an owner")
}

// List is a page of the owner's consultations, newest first, optionally of
// one status, and their total.
func (s *Service) List(ctx context.Context, o Owner, status Status, first int, afterID uint64) ([]*models.Consultation, int64, error) {
	q, err := o.scope(s.db.WithContext(ctx).Model(&models.Consultation{}))
	if err != nil {
		return nil, 0, err
	}
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	return database.NewestFirst[models.Consultation](q, first, afterID)
}

// Timeline is a consultation's steps, oldest first.
func (s *Service) Timeline(ctx context.Context, id uint64) ([]*models.ConsultationEvent, error) {
	var out []*models.ConsultationEvent
	err := s.db.WithContext(ctx).Where("consultation_id = ?", id).Order("id").Find(&out).Error
	return out, err
}

// ByIDs loads consultations in the order of ids, leaving out those gone, of
// another owner, or not in one of the statuses (none given: any).
func (s *Service) ByIDs(ctx context.Context, o Owner, ids []uint64, statuses ...Status) ([]*models.Consultation, error) {
	q, err := o.scope(s.db.WithContext(ctx).Where("id IN ?", ids))
	if err != nil {
		return nil, err
	}
	if len(statuses) > 0 {
		q = q.Where("status IN ?", statuses)
	}
	var rows []*models.Consultation
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64]*models.Consultation, len(rows))
	for _, c := range rows {
		by[c.ID] = c
	}
	out := make([]*models.Consultation, 0, len(rows))
	for _, id := range ids {
		if c := by[id]; c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// OpenItems are the user's consultations still waiting for an answer about
// the same matter or agency, newest first, at most n: shown before a new
// one is submitted, so the citizen does not ask twice.
func (s *Service) OpenItems(ctx context.Context, userID, matterID, agencyID uint64, n int) ([]*models.Consultation, error) {
	q := s.db.WithContext(ctx).Where("user_id = ? AND status IN ?", userID, []string{string(Submitted), string(Assigned)})
	switch {
	case matterID != 0:
		q = q.Where("matter_id = ?", matterID)
	case agencyID != 0:
		q = q.Where("agency_id = ?", agencyID)
	}
	var out []*models.Consultation
	err := q.Order("id DESC").Limit(n).Find(&out).Error
	return out, err
}
