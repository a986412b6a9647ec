// Package messages is the citizen's message centre (8.1.2 a, 服务订阅):
// subscriptions to matters and cases, the messages they bring, unread
// counts, and live delivery to the citizen's open connections.
//
// A message is written in the same transaction as the change it reports,
// and published to live listeners only after that transaction commits. A
// citizen only ever sees, counts and marks their own messages.
package messages

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"govmobile/bus"
	"govmobile/database"
	"govmobile/livebus"
	"govmobile/models"
)

// Service keeps subscriptions and messages.
type Service struct {
	db  *gorm.DB
	bus *Bus
}

// New returns the message centre, publishing through bus.
func New(db *gorm.DB, bus *Bus) *Service { return &Service{db: db, bus: bus} }

// Subscribe makes the user follow a target; following it again is not an
// error. Whether the target exists, and may be followed by the user, is the
// caller's to check.
func (s *Service) Subscribe(ctx context.Context, userID uint64, target models.SubscriptionTarget, targetID uint64) (*models.Subscription, error) {
	db := s.db.WithContext(ctx)
	var out models.Subscription
	find := func() error {
		return db.Where("user_id = ? AND target = ? AND target_id = ?", userID, target, targetID).First(&out).Error
	}
	if err := find(); err == nil {
		return &out, nil
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, err
	}
	var n int64
	if err := db.Model(&models.Subscription{}).Where("user_id = ?", userID).Count(&n).Error; err != nil {
		return nil, err
	}
	if n >= MaxSubscriptions {
		return nil, models.Errorf(models.ECodeConflict, "最多订阅%d项，请先取消不再关注的订阅。", MaxSubscriptions)
	}
	sub := &models.Subscription{UserID: userID, Target: target, TargetID: targetID, CreatedAt: time.Now().UTC()}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(sub).Error; err != nil {
		return nil, err
	}
	return &out, find()
}

// MaxSubscriptions bounds the matters and cases one user follows.
const MaxSubscriptions = 500

// MaxListeners bounds the live message streams one user holds at once
// (their APP, mini-program, official account and browser tabs).
const MaxListeners = 10

// Unsubscribe removes one of the user's subscriptions; another user's is
// NOT_FOUND.
func (s *Service) Unsubscribe(ctx context.Context, userID, id uint64) error {
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&models.Subscription{})
	if res.Error == nil && res.RowsAffected == 0 {
		return models.Errorf(models.ECodeNotFound, "没有找到这个订阅。")
	}
	return res.Error
}

// Get returns one of the user's messages; another user's is NOT_FOUND.
func (s *Service) Get(ctx context.Context, userID, id uint64) (*models.Message, error) {
	var m models.Message
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).First(&m).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这条消息。")
	}
	return &m, err
}

// Subscription returns one of the user's subscriptions; another user's is
// NOT_FOUND.
func (s *Service) Subscription(ctx context.Context, userID, id uint64) (*models.Subscription, error) {
	var sub models.Subscription
	err := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).First(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, models.Errorf(models.ECodeNotFound, "没有找到这个订阅。")
	}
	return &sub, err
}

// Subscriptions lists the user's subscriptions, newest first.
func (s *Service) Subscriptions(ctx context.Context, userID uint64) ([]*models.Subscription, error) {
	var out []*models.Subscription
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("id DESC").Find(&out).Error
	return out, err
}

// Subscribers are the users following a target.
func Subscribers(tx *gorm.DB, target models.SubscriptionTarget, targetID uint64) ([]uint64, error) {
	var ids []uint64
	err := tx.Model(&models.Subscription{}).Where("target = ? AND target_id = ?", target, targetID).Pluck("user_id", &ids).Error
	return ids, err
}

// Transaction runs fn in a database transaction (retried as
// database.Transaction retries) with a fresh outbox for each attempt, and
// delivers the messages fn wrote once the transaction has committed. s may
// be nil: the messages are then only stored.
func (s *Service) Transaction(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB, ob *Outbox) error) error {
	ob := &Outbox{}
	err := database.Transaction(ctx, db, func(tx *gorm.DB) error {
		*ob = Outbox{}
		return fn(tx, ob)
	})
	if err == nil {
		s.Publish(ob)
	}
	return err
}

// Outbox gathers the messages a transaction writes, to publish once it has
// committed.
type Outbox struct{ pending []*models.Message }

// Write stores a message inside tx and queues it for publishing.
func (o *Outbox) Write(tx *gorm.DB, m *models.Message) error {
	// Bodies quote what people wrote: cut to the columns' bounds here, once.
	m.Title, m.Body = cutRunes(m.Title, maxTitle), cutRunes(m.Body, maxBody)
	m.CreatedAt = time.Now().UTC()
	if err := tx.Create(m).Error; err != nil {
		return err
	}
	o.pending = append(o.pending, m)
	return nil
}

// The bounds of a message's title and body (the columns' sizes).
const (
	maxTitle = 100
	maxBody  = 1000
)

func cutRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// Publish delivers the queued messages to live listeners; call it after the
// transaction committed.
func (s *Service) Publish(o *Outbox) {
	if s == nil || o == nil {
		return
	}
	for _, m := range o.pending {
		s.bus.Publish(m)
	}
	o.pending = nil
}

// List is a page of the user's messages, newest first, after a message ID
// (0 for the first page), and their total.
func (s *Service) List(ctx context.Context, userID uint64, unreadOnly bool, first int, afterID uint64) ([]*models.Message, int64, error) {
	q := s.db.WithContext(ctx).Model(&models.Message{}).Where("user_id = ?", userID)
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	return database.NewestFirst[models.Message](q, first, afterID)
}

// Unread counts the user's unread messages.
func (s *Service) Unread(ctx context.Context, userID uint64) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&models.Message{}).Where("user_id = ? AND read_at IS NULL", userID).Count(&n).Error
	return n, err
}

// MarkRead marks the user's messages read: those listed, or all when ids
// is empty. A listed ID that is not one of the user's messages is
// NOT_FOUND and nothing is marked, as for every other use of another's
// message. It returns how many it marked (one already read is not).
func (s *Service) MarkRead(ctx context.Context, userID uint64, ids []uint64) (int64, error) {
	var marked int64
	// One transaction, holding the listed rows on MySQL (SQLite's
	// transactions already write-lock the database): the messages counted
	// as the user's are the ones updated, even if retention deletes one in
	// between.
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		q := tx.Model(&models.Message{}).Where("user_id = ? AND read_at IS NULL", userID)
		if len(ids) > 0 {
			distinct := map[uint64]bool{}
			for _, id := range ids {
				distinct[id] = true
			}
			own := tx.Model(&models.Message{}).Where("user_id = ? AND id IN ?", userID, ids)
			if tx.Dialector.Name() == "mysql" {
				own = own.Clauses(clause.Locking{Strength: "UPDATE"})
			}
			var found []uint64
			if err := own.Pluck("id", &found).Error; err != nil {
				return err
			}
			if len(found) != len(distinct) {
				return models.Errorf(models.ECodeNotFound, "没有找到这条消息。")
			}
			q = q.Where("id IN ?", ids)
		}
		res := q.Update("read_at", time.Now().UTC())
		marked = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, err
	}
	return marked, nil
}

// Bus delivers published messages live to the listeners of their user, at
// most MaxListeners per user on each replica, through the shared bus: a
// message published on any replica reaches the user's listeners on every
// replica (this one included, through the bus and so once). What it
// delivers is also in the message centre.
type Bus struct {
	hub *livebus.Hub[uint64, *models.Message]
	bus *bus.Bus
}

// subject is where messages travel on the shared bus. A message holds no
// sealed data (its title and body are stored in clear), so the row itself
// is sent: a replica delivers it without reading it back from the database.
const subject = "msg.user"

// NewBus returns a bus delivering through b (nil: this process only).
func NewBus(b *bus.Bus) (*Bus, error) {
	if b == nil {
		b = bus.NewLocal()
	}
	mb := &Bus{hub: livebus.New[uint64, *models.Message](MaxListeners), bus: b}
	return mb, b.Subscribe(subject, func(payload []byte) {
		var m models.Message
		if err := json.Unmarshal(payload, &m); err != nil || m.UserID == 0 {
			slog.Warn("live message dropped: not a message", "subject", subject)
			return
		}
		mb.hub.Publish(m.UserID, &m)
	})
}

// Listen returns the user's live messages until ctx ends.
func (b *Bus) Listen(ctx context.Context, userID uint64) (<-chan *models.Message, error) {
	ch, ok := b.hub.Listen(ctx, userID)
	if !ok {
		return nil, models.Errorf(models.ECodeRateLimited, "同时接收实时消息的连接过多（最多%d个），请关闭不用的页面后再试。", MaxListeners)
	}
	return ch, nil
}

// Publish hands m to its user's listeners on every replica.
func (b *Bus) Publish(m *models.Message) {
	payload, err := json.Marshal(m)
	if err != nil {
		return
	}
	_ = b.bus.Publish(context.Background(), subject, payload)
}
