// Package agentchat is online customer service with a human agent (人工
// 帮办, 8.1.2 j): a citizen whose question the knowledge base cannot answer
// opens a chat; it waits in the agents' queue until an agent (an
// administrator) takes it; both sides' lines are stored and delivered live;
// either side ends it. The transcript stays with the citizen's account.
package agentchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"govmobile/bus"
	"govmobile/database"
	"govmobile/livebus"
	"govmobile/mask"
	"govmobile/models"
	"govmobile/statemachine"
)

// Status is where a chat stands.
type Status string

// The statuses.
const (
	Waiting Status = "WAITING" // in the queue
	Active  Status = "ACTIVE"  // an agent is talking with the citizen
	Closed  Status = "CLOSED"  // ended
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	return map[Status]string{Waiting: "排队等待", Active: "服务中", Closed: "已结束"}[s]
}

// Action is a step on a chat.
type Action string

// The steps: an agent takes or closes a chat; the citizen ends it.
const (
	Take  Action = "TAKE"
	Close Action = "CLOSE"
	End   Action = "END"
)

// Label is the action's Chinese name.
func (a Action) Label() string {
	return map[Action]string{Take: "接入", Close: "结束", End: "结束"}[a]
}

// Side is who writes or acts in a chat.
type Side string

// The sides.
const (
	Citizen Side = "CITIZEN"
	Agent   Side = "AGENT"
	System  Side = "SYSTEM"
)

var machine = statemachine.Machine[Status, Action, Side]{Subject: "会话", Transitions: map[Status]map[Action]Status{
	Waiting: {Take: Active, End: Closed},
	Active:  {Close: Closed, End: Closed},
}, Actors: map[Action]Side{Take: Agent, Close: Agent, End: Citizen}}

// Next is where a step takes a chat (the workflow's one table).
func Next(from Status, action Action, by Side) (Status, error) { return machine.Next(from, action, by) }

// Bounds.
const (
	MaxText = 1000
	// MaxListeners bounds the live streams of one chat (the citizen's
	// devices and the agent).
	MaxListeners = 8
)

// Party is who calls: a citizen (UserID) or an agent (AgentID).
type Party struct {
	UserID  uint64
	AgentID uint64
}

func (p Party) side() Side {
	if p.AgentID != 0 {
		return Agent
	}
	return Citizen
}

// Service keeps chats.
type Service struct {
	db  *gorm.DB
	hub *livebus.Hub[uint64, *models.ChatMessage]
	bus *bus.Bus
	now func() time.Time
}

// subject is where chat lines travel between replicas. A line holds no
// sealed data (its text is masked and stored in clear), so the line itself
// is sent.
const subject = "chat"

// New returns the chat service, delivering lines live through b (nil: in
// this process only): a line written on any replica reaches the chat's
// listeners on every replica.
func New(db *gorm.DB, b *bus.Bus) (*Service, error) {
	if b == nil {
		b = bus.NewLocal()
	}
	s := &Service{db: db, hub: livebus.New[uint64, *models.ChatMessage](MaxListeners), bus: b, now: time.Now}
	return s, b.Subscribe(subject, func(payload []byte) {
		var l models.ChatMessage
		if err := json.Unmarshal(payload, &l); err != nil || l.ChatID == 0 {
			slog.Warn("live chat line dropped: not a chat line", "subject", subject)
			return
		}
		s.hub.Publish(l.ChatID, &l)
	})
}

var (
	errNotFound = models.Errorf(models.ECodeNotFound, "没有找到这个会话。")
	errClosed   = models.Errorf(models.ECodeConflict, "会话已结束，不能再发送消息；如需帮助请重新发起。")
)

// text checks a line: 1 to MaxText characters, no control characters
// other than line breaks.
func text(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > MaxText {
		return "", models.InvalidField("text", fmt.Sprintf("消息应为1到%d个字。", MaxText))
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }) {
		return "", models.InvalidField("text", "消息含有无法识别的字符。")
	}
	// Identity numbers and phones typed into a line are masked before it
	// is stored or shown (SPEC §4, 9.4.5).
	return mask.Text(s), nil
}

// Start opens a chat for the citizen with their first line, into the
// queue. A citizen has one open chat at a time: another is CONFLICT.
func (s *Service) Start(ctx context.Context, userID uint64, first string) (*models.AgentChat, error) {
	first, err := text(first)
	if err != nil {
		return nil, err
	}
	var c models.AgentChat
	var lines []*models.ChatMessage
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		lines = nil
		// One open chat per citizen: starts racing each other queue on the
		// citizen's row (SQLite serialises writers already).
		if tx.Dialector.Name() == "mysql" {
			if err := tx.Exec("SELECT id FROM users WHERE id = ? FOR UPDATE", userID).Error; err != nil {
				return err
			}
		}
		var open int64
		if err := tx.Model(&models.AgentChat{}).Where("user_id = ? AND status IN ?", userID, []string{string(Waiting), string(Active)}).
			Count(&open).Error; err != nil {
			return err
		}
		if open > 0 {
			return models.Errorf(models.ECodeConflict, "您已有一个进行中的人工客服会话，请在原会话中继续。")
		}
		now := s.now().UTC()
		c = models.AgentChat{UserID: userID, Status: string(Waiting), Topic: truncate(first, 400), CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&c).Error; err != nil {
			return err
		}
		for _, l := range []*models.ChatMessage{
			{ChatID: c.ID, Sender: string(Citizen), SenderID: userID, Text: first, CreatedAt: now},
			{ChatID: c.ID, Sender: string(System), Text: "已为您转接人工客服，请稍候。", CreatedAt: now},
		} {
			if err := tx.Create(l).Error; err != nil {
				return err
			}
			lines = append(lines, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(lines...)
	return &c, nil
}

// load reads a chat the party may see: the citizen's own; for an agent,
// one they have taken. Anything else is NOT_FOUND, as for a chat that does
// not exist. A waiting chat is open to every agent only to take (see Take).
func load(tx *gorm.DB, p Party, chatID uint64) (*models.AgentChat, error) {
	var c models.AgentChat
	q := tx.Where("id = ?", chatID)
	if p.AgentID != 0 {
		q = q.Where("agent_id = ?", p.AgentID)
	} else {
		q = q.Where("user_id = ?", p.UserID)
	}
	if err := q.Take(&c).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	return &c, nil
}

// Get is a chat the party may see.
func (s *Service) Get(ctx context.Context, p Party, chatID uint64) (*models.AgentChat, error) {
	return load(s.db.WithContext(ctx), p, chatID)
}

// Send writes a line into a chat: the citizen while it waits or is active,
// the agent who took it while it is active. Lines into an ended chat are
// CONFLICT.
func (s *Service) Send(ctx context.Context, p Party, chatID uint64, line string) (*models.ChatMessage, error) {
	line, err := text(line)
	if err != nil {
		return nil, err
	}
	var m *models.ChatMessage
	err = database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		c, err := load(tx, p, chatID)
		if err != nil {
			return err
		}
		if Status(c.Status) == Closed {
			return errClosed
		}
		now := s.now().UTC()
		m = &models.ChatMessage{ChatID: c.ID, Sender: string(p.side()), SenderID: p.AgentID + p.UserID, Text: line, CreatedAt: now}
		if err := tx.Create(m).Error; err != nil {
			return err
		}
		return tx.Model(&models.AgentChat{}).Where("id = ?", c.ID).Update("updated_at", now).Error
	})
	if err != nil {
		return nil, err
	}
	s.publish(m)
	return m, nil
}

// Take is an agent taking a waiting chat; two agents taking it at once make
// one take, and the other answers CONFLICT, as does a chat already taken or
// ended.
func (s *Service) Take(ctx context.Context, agentID, chatID uint64) (*models.AgentChat, error) {
	return s.stepOn(ctx, Party{AgentID: agentID}, chatID, Take, "客服已接入，请问有什么可以帮您？", func(now time.Time) map[string]any {
		return map[string]any{"agent_id": agentID, "taken_at": now}
	}, func(tx *gorm.DB) (*models.AgentChat, error) {
		var c models.AgentChat
		if err := tx.Take(&c, chatID).Error; errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errNotFound
		} else if err != nil {
			return nil, err
		}
		if Status(c.Status) != Waiting {
			return nil, models.Errorf(models.ECodeConflict, "这个会话已被接入或已结束。")
		}
		return &c, nil
	})
}

// Finish ends a chat: by the agent who took it (Close), or by the citizen
// (End).
func (s *Service) Finish(ctx context.Context, p Party, chatID uint64) (*models.AgentChat, error) {
	action, note := End, "用户已结束会话。"
	if p.side() == Agent {
		action, note = Close, "客服已结束会话，感谢您的咨询。"
	}
	return s.step(ctx, p, chatID, action, note, func(now time.Time) map[string]any { return map[string]any{"closed_at": now} })
}

// step moves a chat if its status has not changed since it was read,
// writes a system line and delivers it.
func (s *Service) step(ctx context.Context, p Party, chatID uint64, action Action, note string, set func(time.Time) map[string]any) (*models.AgentChat, error) {
	return s.stepOn(ctx, p, chatID, action, note, set, func(tx *gorm.DB) (*models.AgentChat, error) { return load(tx, p, chatID) })
}

// stepOn is step with its own way of loading the chat.
func (s *Service) stepOn(ctx context.Context, p Party, chatID uint64, action Action, note string, set func(time.Time) map[string]any,
	get func(tx *gorm.DB) (*models.AgentChat, error)) (*models.AgentChat, error) {
	var c *models.AgentChat
	var line *models.ChatMessage
	err := database.Transaction(ctx, s.db, func(tx *gorm.DB) error {
		var err error
		if c, err = get(tx); err != nil {
			return err
		}
		to, err := Next(Status(c.Status), action, p.side())
		if err != nil {
			return err
		}
		now := s.now().UTC()
		cols := set(now)
		cols["status"], cols["updated_at"] = string(to), now
		res := tx.Model(&models.AgentChat{}).Where("id = ? AND status = ?", c.ID, c.Status).Updates(cols)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return models.Errorf(models.ECodeConflict, "会话状态刚刚已有变化，请刷新后再试。")
		}
		line = &models.ChatMessage{ChatID: c.ID, Sender: string(System), Text: note, CreatedAt: now}
		if err := tx.Create(line).Error; err != nil {
			return err
		}
		return tx.Take(c, c.ID).Error
	})
	if err != nil {
		return nil, err
	}
	s.publish(line)
	return c, nil
}

func (s *Service) publish(lines ...*models.ChatMessage) {
	for _, l := range lines {
		if payload, err := json.Marshal(l); err == nil {
			_ = s.bus.Publish(context.Background(), subject, payload)
		}
	}
}

// Listen returns a chat's new lines, live, for a party who may see it,
// until ctx ends.
func (s *Service) Listen(ctx context.Context, p Party, chatID uint64) (<-chan *models.ChatMessage, error) {
	c, err := s.Get(ctx, p, chatID)
	if err != nil {
		return nil, err
	}
	if Status(c.Status) == Closed {
		return nil, models.Errorf(models.ECodeConflict, "会话已结束。")
	}
	ch, ok := s.hub.Listen(ctx, chatID)
	if !ok {
		return nil, models.Errorf(models.ECodeRateLimited, "这个会话的实时连接过多（最多%d个）。", MaxListeners)
	}
	return ch, nil
}

// Transcript is a chat's lines, oldest first (at most the last 500).
func (s *Service) Transcript(ctx context.Context, chatID uint64) ([]*models.ChatMessage, error) {
	var out []*models.ChatMessage
	err := s.db.WithContext(ctx).Where("chat_id = ?", chatID).Order("id DESC").Limit(500).Find(&out).Error
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// Mine is a page of the citizen's chats, newest first.
func (s *Service) Mine(ctx context.Context, userID uint64, first int, afterID uint64) ([]*models.AgentChat, int64, error) {
	return database.NewestFirst[models.AgentChat](s.db.WithContext(ctx).Model(&models.AgentChat{}).Where("user_id = ?", userID), first, afterID)
}

// Queue is the waiting chats, oldest first, at most n, and the agent's own
// active ones before them.
func (s *Service) Queue(ctx context.Context, agentID uint64, n int) ([]*models.AgentChat, error) {
	var mine, waiting []*models.AgentChat
	db := s.db.WithContext(ctx)
	if err := db.Where("agent_id = ? AND status = ?", agentID, string(Active)).Order("id").Limit(n).Find(&mine).Error; err != nil {
		return nil, err
	}
	if len(mine) >= n {
		return mine, nil
	}
	if err := db.Where("status = ?", string(Waiting)).Order("id").Limit(n - len(mine)).Find(&waiting).Error; err != nil {
		return nil, err
	}
	return append(mine, waiting...), nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
