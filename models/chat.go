package models

import "time"

// AgentChat is a conversation between a citizen and a human customer
// service agent (人工帮办, 8.1.2 j): waiting in the agents' queue until one
// takes it, then active until either side ends it. The transcript
// (ChatMessage) stays with the citizen's account.
type AgentChat struct {
	ID        uint64     `gorm:"primaryKey"`
	UserID    uint64     `gorm:"not null;index:idx_agent_chats_user_status,priority:1"`
	AgentID   uint64     `gorm:"not null;index"`
	Status    string     `gorm:"size:16;not null;index:idx_agent_chats_user_status,priority:2;index"`
	Topic     string     `gorm:"size:400;not null"`
	CreatedAt time.Time  `gorm:"not null"`
	UpdatedAt time.Time  `gorm:"not null"`
	TakenAt   *time.Time `gorm:""`
	ClosedAt  *time.Time `gorm:""`
}

// ChatMessage is one line of an agent chat.
type ChatMessage struct {
	ID        uint64    `gorm:"primaryKey"`
	ChatID    uint64    `gorm:"not null;index"`
	Sender    string    `gorm:"size:8;not null"` // CITIZEN, AGENT or SYSTEM
	SenderID  uint64    `gorm:"not null"`
	Text      string    `gorm:"size:1000;not null"`
	CreatedAt time.Time `gorm:"not null"`
}
