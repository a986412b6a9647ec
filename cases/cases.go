package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/database"
	"govmobile/gm"
	"govmobile/idempotency"
	"govmobile/mask"
	"govmobile/messages"
	"govmobile/models"
)

// Service keeps applications and cases. Every step of a case moves it with
// a conditional UPDATE on the status it was read in, inside the transaction
// that appends the step to the timeline: two requests acting on one case at
// once make one step, and the other answers CONFLICT. A user sees and
// changes only their own cases, staff only their agency's; anything else is
// NOT_FOUND, as for a case that does not exist.
type Service struct {
	db   *gorm.DB
	now  func() time.Time
	msgs *messages.Service
	// Submitted, when set, is told of each case submitted, after the
	// commit and never for a retry's replay (the app records the
	// behaviour event).
	Submitted func(ctx context.Context, c *models.Case)
	// Keys seal the form's values at rest (SPEC §4); without them (tests
	// of the rules alone) values are stored in clear.
	Keys *gm.Keyring
}

// New returns the case service; msgs, when not nil, tells applicants of
// their cases' steps.
func New(db *gorm.DB, msgs *messages.Service) *Service {
	return &Service{db: db, now: time.Now, msgs: msgs}
}

// Form is the application form of a matter: its own, or GeneralForm.
func (s *Service) Form(ctx context.Context, matterID uint64) ([]models.FormAttribute, error) {
	return formOf(s.db.WithContext(ctx), matterID)
}

func formOf(db *gorm.DB, matterID uint64) ([]models.FormAttribute, error) {
	var f models.MatterForm
	err := db.First(&f, matterID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && len(f.Attributes) == 0 {
		return GeneralForm, nil
	}
	return f.Attributes, err
}

// SaveDraft creates a draft application for a matter (caseID 0) or changes
// the user's draft; required fields may still be empty.
func (s *Service) SaveDraft(ctx context.Context, userID, caseID, matterID uint64, values map[string][]string) (*models.Case, error) {
	var out *models.Case
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		c, form, err := s.draftFor(tx, userID, caseID, matterID)
		if err != nil {
			return err
		}
		v, err := Validate(form, values, false)
		if err != nil {
			return err
		}
		c.Values, c.UpdatedAt = v, s.now().UTC()
		if c.ID == 0 {
			var drafts int64
			if err := tx.Model(&models.Case{}).Where("user_id = ? AND status = ?", userID, string(Draft)).Count(&drafts).Error; err != nil {
				return err
			}
			if drafts >= MaxDrafts {
				return models.Errorf(models.ECodeConflict, "草稿最多保存%d份，请先提交或删除不用的草稿。", MaxDrafts)
			}
			if err := s.sealValues(c); err != nil {
				return err
			}
			if err := create(tx, c); err != nil {
				return err
			}
		} else if err := s.sealValues(c); err != nil {
			return err
		} else if res := tx.Model(c).Where("status = ?", Draft).Select("values_enc", "values", "updated_at").Updates(c); res.Error != nil {
			return res.Error
		} else if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "这份申请已经提交，不能再作为草稿修改。")
		}
		out = c
		return nil
	})
	return out, err
}

// Submit submits a draft (caseID) or a new application (matterID and
// values) as one step. The form must be complete. A key already used for
// the same submission returns its case and submits nothing.
func (s *Service) Submit(ctx context.Context, userID, caseID, matterID uint64, values map[string][]string, key string) (*models.Case, error) {
	if err := idempotency.Check(key); err != nil {
		return nil, err
	}
	// The request a key stands for includes the values sent, in key order:
	// the same key with other values is another request, and refused.
	request := []string{fmt.Sprint(caseID), fmt.Sprint(matterID), canonical(values)}
	var out *models.Case
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		if err := idempotency.Claim(tx, userID, key, opSubmit, request...); err != nil {
			return err
		}
		c, form, err := s.draftFor(tx, userID, caseID, matterID)
		if err != nil {
			return err
		}
		if caseID != 0 {
			// A draft saved while its matter took online applications may
			// outlive that: the matter is checked again on submission.
			if err := onlineMatter(tx, c.MatterID); err != nil {
				return err
			}
		}
		if values != nil {
			if c.Values, err = Validate(form, values, true); err != nil {
				return err
			}
		} else if _, err := Validate(form, asText(c.Values), true); err != nil {
			return err
		}
		if err := s.sealValues(c); err != nil {
			return err
		}
		if c.ID == 0 {
			if err := create(tx, c); err != nil {
				return err
			}
		} else if err := tx.Model(c).Where("status = ?", Draft).Select("values_enc", "values").Updates(c).Error; err != nil {
			return err
		}
		if err := s.step(tx, c, Submit, Applicant, userID, "", ob); err != nil {
			return err
		}
		out = c
		return idempotency.Settle(tx, userID, key, c.ID)
	})
	if errors.Is(err, idempotency.ErrUsed) {
		id, err := idempotency.Result(ctx, s.db, userID, key, opSubmit, request...)
		if err != nil {
			return nil, err
		}
		return s.Mine(ctx, userID, id)
	}
	if err == nil && s.Submitted != nil {
		s.Submitted(ctx, out)
	}
	return out, err
}

// Withdraw withdraws the user's case before the agency accepts it. A key
// already used for the same withdrawal returns the case as it is now.
func (s *Service) Withdraw(ctx context.Context, userID, caseID uint64, reason, key string) (*models.Case, error) {
	return s.applicantStep(ctx, userID, caseID, Withdraw, reason, key, func(tx *gorm.DB, c *models.Case) error { return nil })
}

// Supply sends the materials the agency asked for: the form's values again,
// complete, and the case goes back for acceptance. A key already used for
// the same values returns the case as it is now.
func (s *Service) Supply(ctx context.Context, userID, caseID uint64, values map[string][]string, key string) (*models.Case, error) {
	return s.applicantStep(ctx, userID, caseID, Supply, canonical(values), key, func(tx *gorm.DB, c *models.Case) error {
		// A case not waiting for supplements answers CONFLICT whatever the
		// values: the state is checked before the form.
		if _, err := Next(Status(c.Status), Supply, Applicant); err != nil {
			return err
		}
		form, err := formOf(tx, c.MatterID)
		if err != nil {
			return err
		}
		if c.Values, err = Validate(form, values, true); err != nil {
			return err
		}
		if err := s.sealValues(c); err != nil {
			return err
		}
		return tx.Model(c).Select("values_enc", "values").Updates(c).Error
	})
}

// applicantStep is the applicant's step on their own case, after change
// (which may alter the case) in the same transaction, replay-safe under an
// idempotency key. request is what, besides the case, makes the step this
// one (for the key); it is the note of Withdraw, the values of Supply.
func (s *Service) applicantStep(ctx context.Context, userID, caseID uint64, action Action, request, key string,
	change func(tx *gorm.DB, c *models.Case) error) (*models.Case, error) {
	if err := idempotency.Check(key); err != nil {
		return nil, err
	}
	op := "case." + strings.ToLower(string(action))
	note := request
	if action == Supply {
		note = ""
	}
	c, err := s.act(ctx, func(tx *gorm.DB) (*models.Case, error) {
		if err := idempotency.Claim(tx, userID, key, op, fmt.Sprint(caseID), request); err != nil {
			return nil, err
		}
		c, err := s.own(tx, userID, caseID)
		if err != nil {
			return nil, err
		}
		if err := change(tx, c); err != nil {
			return nil, err
		}
		return c, idempotency.Settle(tx, userID, key, c.ID)
	}, action, Applicant, userID, note)
	if errors.Is(err, idempotency.ErrUsed) {
		if _, err := idempotency.Result(ctx, s.db, userID, key, op, fmt.Sprint(caseID), request); err != nil {
			return nil, err
		}
		return s.Mine(ctx, userID, caseID)
	}
	return c, err
}

// DeleteDraft discards one of the user's drafts and the materials uploaded
// for it. A submitted case is CONFLICT; it is withdrawn, not deleted.
func (s *Service) DeleteDraft(ctx context.Context, userID, caseID uint64) error {
	return database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		c, err := s.own(tx, userID, caseID)
		if err != nil {
			return err
		}
		res := tx.Where("id = ? AND status = ?", c.ID, string(Draft)).Delete(&models.Case{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "这份申请已经提交，不能删除；受理前可以撤回。")
		}
		if err := tx.Where("target = ? AND target_id = ?", models.TargetCase, c.ID).Delete(&models.Subscription{}).Error; err != nil {
			return err
		}
		return tx.Where("case_id = ?", c.ID).Delete(&models.CaseFile{}).Error
	})
}

// Handle is an agency's staff member taking a step on one of the agency's
// cases: accept, ask for supplements, process, complete or reject. Asking
// for supplements and rejecting need a note saying why; completing needs a
// result document uploaded first.
func (s *Service) Handle(ctx context.Context, agencyID, staffID, caseID uint64, action Action, note string) (*models.Case, error) {
	note = strings.TrimSpace(note)
	if (action == RequestSupplement || action == Reject) && note == "" {
		return nil, models.InvalidField("note", "请说明需要补正的材料或不予受理的理由。")
	}
	return s.act(ctx, func(tx *gorm.DB) (*models.Case, error) {
		var c models.Case
		err := tx.Where("id = ? AND agency_id = ? AND status <> ?", caseID, agencyID, Draft).First(&c).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errNotFound
		}
		if err != nil {
			return nil, err
		}
		if action == Complete {
			if _, err := Next(Status(c.Status), action, Staff); err != nil {
				return nil, err
			}
			if ok, err := hasResult(tx, c.ID); err != nil {
				return nil, err
			} else if !ok {
				return nil, models.Errorf(models.ECodeConflict, "办结前请先上传办理结果文件（POST /files）。")
			}
		}
		return &c, nil
	}, action, Staff, staffID, note)
}

// Mine returns one of the user's cases; another user's is NOT_FOUND.
func (s *Service) Mine(ctx context.Context, userID, caseID uint64) (*models.Case, error) {
	return s.own(s.db.WithContext(ctx), userID, caseID)
}

// Timeline is a case's steps, oldest first.
func (s *Service) Timeline(ctx context.Context, caseID uint64) ([]*models.CaseEvent, error) {
	all, err := s.TimelinesByCase(ctx, []uint64{caseID})
	if err != nil {
		return nil, err
	}
	return all[0], nil
}

// TimelinesByCase loads the steps of many cases in one statement, in the
// order of ids (for the per-request dataloader).
func (s *Service) TimelinesByCase(ctx context.Context, ids []uint64) ([][]*models.CaseEvent, error) {
	return byCase(ctx, s.db, ids, func(e *models.CaseEvent) uint64 { return e.CaseID })
}

// byCase loads the rows of many cases in one statement, oldest first, and
// groups them in the order of ids.
func byCase[T any](ctx context.Context, db *gorm.DB, ids []uint64, caseID func(*T) uint64) ([][]*T, error) {
	var rows []*T
	if err := db.WithContext(ctx).Where("case_id IN ?", ids).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	by := make(map[uint64][]*T, len(ids))
	for _, r := range rows {
		by[caseID(r)] = append(by[caseID(r)], r)
	}
	out := make([][]*T, len(ids))
	for i, id := range ids {
		if out[i] = by[id]; out[i] == nil {
			out[i] = []*T{}
		}
	}
	return out, nil
}

// Owner says whose cases a list holds: a user's (drafts included), or an
// agency's (submitted ones only).
type Owner struct {
	UserID   uint64
	AgencyID uint64
}

// List is a page of the owner's cases, newest first, first at a time after
// the given case ID (0 for the first page), optionally of one status, and
// their total.
func (s *Service) List(ctx context.Context, owner Owner, status Status, first int, afterID uint64) ([]*models.Case, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Case{})
	switch {
	case owner.UserID != 0:
		q = q.Where("user_id = ?", owner.UserID)
	case owner.AgencyID != 0:
		q = q.Where("agency_id = ? AND status <> ?", owner.AgencyID, string(Draft))
	default:
		return nil, 0, errors.New("cases.List without an owner")
	}
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	return database.NewestFirst[models.Case](q, first, afterID)
}

const opSubmit = "case.submit"

// MaxDrafts bounds the drafts one user keeps.
const MaxDrafts = 50

const maxNote = 500

var errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个办件。")

// act loads a case, moves it by action and records the step.
func (s *Service) act(ctx context.Context, load func(tx *gorm.DB) (*models.Case, error), action Action, by Actor, actorID uint64, note string) (*models.Case, error) {
	var out *models.Case
	err := s.msgs.Transaction(ctx, s.db, func(tx *gorm.DB, ob *messages.Outbox) error {
		c, err := load(tx)
		if err != nil {
			return err
		}
		if err := s.step(tx, c, action, by, actorID, note, ob); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// step moves c by action, if its status has not changed since it was read,
// and appends the step to its timeline.
func (s *Service) step(tx *gorm.DB, c *models.Case, action Action, by Actor, actorID uint64, note string, ob *messages.Outbox) error {
	note = strings.TrimSpace(note)
	if len([]rune(note)) > maxNote {
		return models.InvalidField("note", fmt.Sprintf("说明不能超过%d个字。", maxNote))
	}
	if strings.ContainsFunc(note, func(r rune) bool { return r < 0x20 && r != '\n' }) || !utf8.ValidString(note) {
		return models.InvalidField("note", "说明含有无法识别的字符。")
	}
	// Identity numbers and phones quoted in a note (a withdrawal's reason,
	// the staff's request for supplements) are masked before it is stored
	// or sent (SPEC §4).
	note = mask.Text(note)
	from := Status(c.Status)
	to, err := Next(from, action, by)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	updates := map[string]any{"status": string(to), "updated_at": now}
	if action == Submit {
		updates["submitted_at"] = now
		c.SubmittedAt = &now
	}
	res := tx.Model(&models.Case{}).Where("id = ? AND status = ?", c.ID, string(from)).Updates(updates)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return models.Errorf(models.ECodeConflict, "办件状态刚刚已有变化，请刷新后再试。")
	}
	c.Status, c.UpdatedAt = string(to), now
	if err := tx.Create(&models.CaseEvent{CaseID: c.ID, Action: string(action), FromStatus: string(from), ToStatus: string(to),
		Actor: string(by), ActorID: actorID, Note: note, At: now}).Error; err != nil {
		return err
	}
	return s.tell(tx, c, from, to, by, note, ob)
}

// tell writes the applicant a message about a step: always when the agency
// took it, and for their own steps when they follow the case.
func (s *Service) tell(tx *gorm.DB, c *models.Case, from, to Status, by Actor, note string, ob *messages.Outbox) error {
	if s.msgs == nil {
		return nil
	}
	if by != Staff {
		followers, err := messages.Subscribers(tx, models.TargetCase, c.ID)
		if err != nil || !slices.Contains(followers, c.UserID) {
			return err
		}
	}
	body := fmt.Sprintf("您的办件 %s 状态由“%s”变为“%s”。", c.Number, from.Label(), to.Label())
	if note != "" {
		body += "说明：" + note
	}
	return ob.Write(tx, &models.Message{UserID: c.UserID, Title: "办件进度更新：" + to.Label(), Body: body,
		Target: models.TargetCase, TargetID: c.ID})
}

// draftFor loads the user's draft, or makes a new one for a matter, with
// the matter's form.
func (s *Service) draftFor(tx *gorm.DB, userID, caseID, matterID uint64) (*models.Case, []models.FormAttribute, error) {
	var c *models.Case
	if caseID != 0 {
		var err error
		if c, err = s.own(tx, userID, caseID); err != nil {
			return nil, nil, err
		}
		if c.Values == nil {
			if c.Values, err = s.ValuesOf(c); err != nil {
				return nil, nil, err
			}
		}
		if Status(c.Status) != Draft {
			return nil, nil, models.Errorf(models.ECodeConflict, "这份申请已经提交。")
		}
	} else {
		var m models.Matter
		if err := tx.Select("id", "agency_id", "online_depth").First(&m, matterID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, models.Errorf(models.ECodeNotFound, "没有找到这个事项。")
		} else if err != nil {
			return nil, nil, err
		}
		if !m.OnlineAvailable() {
			return nil, nil, errOffline(&m)
		}
		now := s.now().UTC()
		c = &models.Case{UserID: userID, MatterID: m.ID, AgencyID: m.AgencyID, Status: string(Draft), CreatedAt: now, UpdatedAt: now}
	}
	form, err := formOf(tx, c.MatterID)
	return c, form, err
}

// errOffline refuses an application for a matter that cannot be applied
// for online.
func errOffline(m *models.Matter) error {
	return models.Errorf(models.ECodeConflict, "这个事项暂不能在线申请（%s），请到办事大厅办理。", models.OnlineDepthName(m.OnlineDepth))
}

// onlineMatter checks a matter still takes online applications.
func onlineMatter(tx *gorm.DB, matterID uint64) error {
	var m models.Matter
	if err := tx.Select("id", "online_depth").First(&m, matterID).Error; err != nil {
		return err
	}
	if !m.OnlineAvailable() {
		return errOffline(&m)
	}
	return nil
}

// create inserts a case and gives it its number: the day, then the ID.
func create(tx *gorm.DB, c *models.Case) error {
	c.Number = fmt.Sprintf("P%d-%d", c.UserID, c.CreatedAt.UnixNano())
	if err := tx.Create(c).Error; err != nil {
		return err
	}
	c.Number = fmt.Sprintf("BJ%s%08d", c.CreatedAt.In(time.FixedZone("CST", 8*3600)).Format("20060102"), c.ID)
	return tx.Model(c).UpdateColumn("number", c.Number).Error
}

// own loads a case of the user's, its values opened.
func (s *Service) own(db *gorm.DB, userID, caseID uint64) (*models.Case, error) {
	var c models.Case
	err := db.Where("id = ? AND user_id = ?", caseID, userID).First(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	// Values that do not open (a damaged row) leave the case usable for
	// what does not need them (withdraw, delete); the draft steps that do
	// need them refuse (draftFor).
	if v, verr := s.ValuesOf(&c); verr == nil {
		c.Values = v
	}
	return &c, nil
}

// valuesContext binds sealed values to their applicant: a row moved to
// another user's case does not open.
func valuesContext(c *models.Case) string { return "case.values:" + strconv.FormatUint(c.UserID, 10) }

// sealValues seals c.Values into c.ValuesEnc for writing (the legacy clear
// column is emptied).
func (s *Service) sealValues(c *models.Case) error {
	c.LegacyValues = nil
	if s.Keys == nil {
		c.LegacyValues = c.Values
		return nil
	}
	raw, err := json.Marshal(c.Values)
	if err != nil {
		return err
	}
	c.ValuesEnc, err = s.Keys.SealString(string(raw), valuesContext(c))
	return err
}

// ValuesOf is a case's form values, opened (or, for a row of an earlier
// release not yet resealed, as stored).
func (s *Service) ValuesOf(c *models.Case) (map[string]any, error) {
	switch {
	case c.Values != nil:
		return c.Values, nil
	case c.ValuesEnc == "" || s.Keys == nil:
		return c.LegacyValues, nil
	}
	raw, err := s.Keys.OpenString(c.ValuesEnc, valuesContext(c))
	if err != nil {
		return nil, fmt.Errorf("open case %d values: %w", c.ID, err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, err
	}
	return out, nil
}

// SealLegacy seals the values of cases written before release 6, a batch
// at a time, and returns how many it sealed. A row changed meanwhile (its
// values already sealed by a write) is left as it is; a row whose old
// values do not read is skipped and logged, not retried for ever.
func (s *Service) SealLegacy(ctx context.Context) (int, error) {
	if s.Keys == nil {
		return 0, nil
	}
	// "values" is a reserved word in MySQL: quoted by the dialect.
	var q strings.Builder
	s.db.Dialector.QuoteTo(&q, "values")
	col := q.String()
	unsealed := "(values_enc IS NULL OR values_enc = '')"
	legacy := unsealed + " AND " + col + " IS NOT NULL AND " + col + " <> 'null'"
	n := 0
	var after uint64
	for {
		var rows []struct {
			ID, UserID uint64
			Legacy     string
		}
		err := s.db.WithContext(ctx).Model(&models.Case{}).Select("id", "user_id", col+" AS legacy").
			Where(legacy+" AND id > ?", after).Order("id").Limit(200).Scan(&rows).Error
		if err != nil || len(rows) == 0 {
			return n, err
		}
		for _, r := range rows {
			after = r.ID
			c := &models.Case{ID: r.ID, UserID: r.UserID}
			if err := json.Unmarshal([]byte(r.Legacy), &c.Values); err != nil {
				slog.Default().Error("case values unreadable, not resealed", "case", r.ID, "err", err)
				continue
			}
			if err := s.sealValues(c); err != nil {
				return n, err
			}
			res := s.db.WithContext(ctx).Model(&models.Case{}).Where("id = ? AND "+unsealed, r.ID).
				Updates(map[string]any{"values_enc": c.ValuesEnc, "values": nil})
			if res.Error != nil {
				return n, res.Error
			}
			n += int(res.RowsAffected)
		}
	}
}

// canonical writes form values in key order, for comparing requests.
func canonical(values map[string][]string) string {
	if values == nil {
		return ""
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		for _, v := range values[k] {
			b.WriteString("\x00" + v)
		}
		b.WriteString("\x01")
	}
	return b.String()
}

// asText turns stored values back into the text a client sends.
func asText(values map[string]any) map[string][]string {
	out := make(map[string][]string, len(values))
	for k, v := range values {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				out[k] = append(out[k], fmt.Sprint(e))
			}
		case []string:
			out[k] = x
		default:
			out[k] = []string{fmt.Sprint(x)}
		}
	}
	return out
}
