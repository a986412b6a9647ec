// Package appointment books citizens into time slots at the halls where a
// matter is handled (8.1.2 g): slots with their places left, booking,
// rescheduling, cancelling, and a citizen's own bookings.
//
// A slot's places are held by the database: a booking takes one with a
// single conditional UPDATE, so concurrent bookers can never overfill a
// slot, and every write happens in one transaction or not at all. It never
// shows or changes another user's booking: those answer NOT_FOUND, exactly as
// one that does not exist.
package appointment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/database"
	"govmobile/idempotency"
	"govmobile/models"
)

// China Standard Time: halls open by the local clock. A fixed zone, so no
// time-zone database is needed on the server.
var cst = time.FixedZone("CST", 8*3600)

// windows are the hours a hall takes bookings, by the local clock.
var windows = [][2]int{{9, 10}, {10, 11}, {11, 12}, {14, 15}, {15, 16}, {16, 17}}

// Config sets the booking calendar.
type Config struct {
	// Capacity is the places of a slot (default 10).
	Capacity int
	// Days is how far ahead slots open, from tomorrow (default 14).
	Days int
	// Now is the clock (tests); time.Now by default.
	Now func() time.Time
}

// Service books appointments.
type Service struct {
	db  *gorm.DB
	cfg Config
}

// New returns the appointment service.
func New(db *gorm.DB, cfg Config) *Service {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 10
	}
	if cfg.Days <= 0 {
		cfg.Days = 14
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{db: db, cfg: cfg}
}

// DateLayout is how a day is written: 2026-11-28.
const DateLayout = "2006-01-02"

// bookable reports whether day (local) is one slots open on: a working day
// from tomorrow to cfg.Days ahead. Public holidays are not known here.
func (s *Service) bookable(day time.Time) bool {
	today := s.today()
	if !day.After(today) || day.After(today.AddDate(0, 0, s.cfg.Days)) {
		return false
	}
	return day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
}

// dayOf is the local day of t, at midnight.
func dayOf(t time.Time) time.Time {
	l := t.In(cst)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, cst)
}

func (s *Service) today() time.Time { return dayOf(s.cfg.Now()) }

// ParseDate reads a day written as DateLayout.
func ParseDate(field, v string) (time.Time, error) {
	d, err := time.ParseInLocation(DateLayout, v, cst)
	if err != nil {
		return time.Time{}, models.InvalidField(field, "日期格式不正确，请写成 2026-01-31 的形式。")
	}
	return d, nil
}

// Slots lists the slots of a matter at a hall on a day, opening them on
// first sight. A hall that does not handle the matter, or a day outside
// the booking calendar, has none.
func (s *Service) Slots(ctx context.Context, matterID, hallID uint64, day time.Time) ([]*models.AppointmentSlot, error) {
	if !s.bookable(day) {
		return []*models.AppointmentSlot{}, nil
	}
	var link int64
	if err := s.db.WithContext(ctx).Model(&models.MatterHall{}).Where("matter_id = ? AND hall_id = ?", matterID, hallID).Count(&link).Error; err != nil {
		return nil, err
	}
	if link == 0 {
		return []*models.AppointmentSlot{}, nil
	}
	start, end := day.UTC(), day.AddDate(0, 0, 1).UTC()
	list := func() ([]*models.AppointmentSlot, error) {
		var slots []*models.AppointmentSlot
		err := s.db.WithContext(ctx).Where("matter_id = ? AND hall_id = ? AND starts_at >= ? AND starts_at < ?", matterID, hallID, start, end).
			Order("starts_at").Find(&slots).Error
		return slots, err
	}
	// Reading a day is a read: the day's slots are written only the first
	// time it is seen.
	slots, err := list()
	if err != nil || len(slots) >= len(windows) {
		return slots, err
	}
	if err := s.open(ctx, s.db, matterID, hallID, day); err != nil {
		return nil, err
	}
	return list()
}

// open creates a day's slots for a matter at a hall unless they exist.
// Replicas opening the same day at once insert the same rows; the unique
// index keeps one of each.
func (s *Service) open(ctx context.Context, db *gorm.DB, matterID, hallID uint64, day time.Time) error {
	rows := make([]models.AppointmentSlot, len(windows))
	for i, w := range windows {
		rows[i] = models.AppointmentSlot{
			MatterID: matterID, HallID: hallID, Capacity: s.cfg.Capacity,
			StartsAt: day.Add(time.Duration(w[0]) * time.Hour).UTC(),
			EndsAt:   day.Add(time.Duration(w[1]) * time.Hour).UTC(),
		}
	}
	return db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
}

// Slot returns a slot, or nil.
func (s *Service) Slot(ctx context.Context, id uint64) (*models.AppointmentSlot, error) {
	var slot models.AppointmentSlot
	err := s.db.WithContext(ctx).First(&slot, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return &slot, err
}

// Book takes a place in a slot for the user. A key already used by the
// user for a booking returns that booking and books nothing.
//
// Errors: NOT_FOUND for an unknown slot; BAD_USER_INPUT for a slot that
// has begun or a key that is too long or used for another operation;
// CONFLICT for a full slot or a second booking of the matter that day.
func (s *Service) Book(ctx context.Context, userID, slotID uint64, key string) (*models.Appointment, error) {
	if err := idempotency.Check(key); err != nil {
		return nil, err
	}
	var booked *models.Appointment
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := idempotency.Claim(tx, userID, key, opBook, fmt.Sprint(slotID)); err != nil {
			return err
		}
		a, err := s.take(tx, userID, slotID, 0)
		if err != nil {
			return err
		}
		booked = a
		return idempotency.Settle(tx, userID, key, a.ID)
	})
	if errors.Is(err, idempotency.ErrUsed) {
		return s.replay(ctx, userID, key, opBook, fmt.Sprint(slotID))
	}
	if err != nil {
		return nil, err
	}
	return booked, nil
}

// Reschedule moves the user's booking to another slot of the same matter:
// the old booking is cancelled and a new one, with its own booking number,
// made in the same transaction. The old place is given back first (a move
// within the same day would otherwise meet the one-booking-a-day rule), and
// a full slot rolls both back, leaving the booking as it was.
//
// Errors: NOT_FOUND for a booking that is not the user's or a slot that does
// not exist; BAD_USER_INPUT for a slot of another matter or one that has
// begun, a booking that has begun or is cancelled; CONFLICT for a full slot,
// or a booking cancelled or moved by another request meanwhile.
func (s *Service) Reschedule(ctx context.Context, userID, appointmentID, slotID uint64, key string) (*models.Appointment, error) {
	if err := idempotency.Check(key); err != nil {
		return nil, err
	}
	var moved *models.Appointment
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		if err := idempotency.Claim(tx, userID, key, opReschedule, fmt.Sprint(appointmentID), fmt.Sprint(slotID)); err != nil {
			return err
		}
		old, err := s.own(tx, userID, appointmentID)
		if err != nil {
			return err
		}
		if old.Status != models.AppointmentBooked {
			return models.InvalidField("appointmentId", "该预约已取消，不能改期，请重新预约。")
		}
		if !old.StartsAt.After(s.cfg.Now()) {
			return models.InvalidField("appointmentId", "预约时段已开始或已过去，不能改期，请重新预约。")
		}
		if old.SlotID == slotID {
			moved = old
			return idempotency.Settle(tx, userID, key, old.ID)
		}
		if released, err := s.release(tx, old); err != nil {
			return err
		} else if !released {
			return models.Errorf(models.ECodeConflict, "该预约刚刚已被取消或改期，请刷新后再试。")
		}
		a, err := s.take(tx, userID, slotID, old.MatterID)
		if err != nil {
			return err
		}
		moved = a
		return idempotency.Settle(tx, userID, key, a.ID)
	})
	if errors.Is(err, idempotency.ErrUsed) {
		return s.replay(ctx, userID, key, opReschedule, fmt.Sprint(appointmentID), fmt.Sprint(slotID))
	}
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// Cancel gives the booking's place back. Cancelling a cancelled booking
// returns it unchanged.
func (s *Service) Cancel(ctx context.Context, userID, appointmentID uint64) (*models.Appointment, error) {
	var out *models.Appointment
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		a, err := s.own(tx, userID, appointmentID)
		if err != nil {
			return err
		}
		if a.Status == models.AppointmentBooked {
			if !a.StartsAt.After(s.cfg.Now()) {
				return models.InvalidField("appointmentId", "预约时段已开始，不能取消。")
			}
			if _, err := s.release(tx, a); err != nil {
				return err
			}
			// Released here or by a request at the same moment: either
			// way it is cancelled now.
			if a, err = s.own(tx, userID, appointmentID); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	return out, err
}

// Get returns the user's booking; another user's is NOT_FOUND.
func (s *Service) Get(ctx context.Context, userID, id uint64) (*models.Appointment, error) {
	return s.own(s.db.WithContext(ctx), userID, id)
}

// Mine lists the user's bookings, newest first, first at a time after the
// given booking ID (0 for the first page), and their total.
func (s *Service) Mine(ctx context.Context, userID uint64, first int, afterID uint64) ([]*models.Appointment, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Appointment{}).Where("user_id = ?", userID)
	return database.NewestFirst[models.Appointment](q, first, afterID)
}

// take books a place in slot for the user; matterID, when not 0, is the
// matter the slot must belong to.
func (s *Service) take(tx *gorm.DB, userID, slotID, matterID uint64) (*models.Appointment, error) {
	var slot models.AppointmentSlot
	if err := tx.First(&slot, slotID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个预约时段。")
	} else if err != nil {
		return nil, err
	}
	if matterID != 0 && slot.MatterID != matterID {
		return nil, models.InvalidField("slotId", "只能改到同一事项的其他时段。")
	}
	if !slot.StartsAt.After(s.cfg.Now()) {
		return nil, models.InvalidField("slotId", "这个时段已经开始或已过去，请选择以后的时段。")
	}
	if !s.bookable(dayOf(slot.StartsAt)) {
		return nil, models.InvalidField("slotId", fmt.Sprintf("只能预约明天起%d天内工作日的时段。", s.cfg.Days))
	}
	res := tx.Model(&models.AppointmentSlot{}).Where("id = ? AND booked < capacity", slot.ID).
		UpdateColumn("booked", gorm.Expr("booked + 1"))
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected == 0 {
		return nil, models.Errorf(models.ECodeConflict, "这个时段已约满，请选择其他时段。")
	}
	day := slot.StartsAt.In(cst).Format(DateLayout)
	now := s.cfg.Now().UTC()
	a := &models.Appointment{
		// A placeholder until the ID is known; a user holds one booking
		// per matter and day, so (slot, user) is unique among live ones.
		Number: fmt.Sprintf("P%x-%x", slot.ID, userID),
		UserID: userID, MatterID: slot.MatterID, HallID: slot.HallID, SlotID: slot.ID,
		StartsAt: slot.StartsAt, EndsAt: slot.EndsAt, ActiveDay: &day,
		Status: models.AppointmentBooked, CreatedAt: now, UpdatedAt: now,
	}
	if err := tx.Create(a).Error; errors.Is(err, gorm.ErrDuplicatedKey) {
		return nil, models.Errorf(models.ECodeConflict, "您当天已预约过这个事项，如需换时间请改期。")
	} else if err != nil {
		return nil, err
	}
	// The booking number: the day, then the booking's ID, unique by
	// construction and readable over the phone.
	a.Number = fmt.Sprintf("YY%s%08d", strings.ReplaceAll(day, "-", ""), a.ID)
	if err := tx.Model(a).UpdateColumn("number", a.Number).Error; err != nil {
		return nil, err
	}
	return a, nil
}

// release cancels a live booking and gives its place back, and reports
// whether it did: the booking is marked cancelled only if it still stands
// (a conditional UPDATE, not the status read before), so two requests
// cancelling or moving it at once give the place back once.
func (s *Service) release(tx *gorm.DB, a *models.Appointment) (bool, error) {
	res := tx.Model(&models.Appointment{}).Where("id = ? AND status = ?", a.ID, models.AppointmentBooked).
		Updates(map[string]any{"status": models.AppointmentCancelled, "active_day": nil, "updated_at": s.cfg.Now().UTC()})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	err := tx.Model(&models.AppointmentSlot{}).Where("id = ? AND booked > 0", a.SlotID).
		UpdateColumn("booked", gorm.Expr("booked - 1")).Error
	return err == nil, err
}

// own loads a booking of the user's; any other is NOT_FOUND.
func (s *Service) own(db *gorm.DB, userID, id uint64) (*models.Appointment, error) {
	var a models.Appointment
	err := db.Where("id = ? AND user_id = ?", id, userID).First(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个预约。")
	}
	return &a, err
}

// The operations recorded under idempotency keys.
const (
	opBook       = "appointment.book"
	opReschedule = "appointment.reschedule"
)

// replay returns the booking first recorded under the key.
func (s *Service) replay(ctx context.Context, userID uint64, key, op string, request ...string) (*models.Appointment, error) {
	id, err := idempotency.Result(ctx, s.db, userID, key, op, request...)
	if err != nil {
		return nil, err
	}
	return s.own(s.db.WithContext(ctx), userID, id)
}
