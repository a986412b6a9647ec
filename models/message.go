package models

import "time"

// SubscriptionTarget is what a citizen can subscribe to.
type SubscriptionTarget string

// The subscription targets.
const (
	TargetMatter SubscriptionTarget = "MATTER" // told when its guide changes
	TargetCase   SubscriptionTarget = "CASE"   // told on every status change
	// TargetEvaluation is the subject of a message about a rating's
	// rectification; it cannot be subscribed to.
	TargetEvaluation SubscriptionTarget = "EVALUATION"
	// TargetConsultation is the subject of a message about a consultation's
	// reply; it cannot be subscribed to.
	TargetConsultation SubscriptionTarget = "CONSULTATION"
)

// Subscription is a citizen following a matter or one of their cases
// (服务订阅, 8.1.2 a).
type Subscription struct {
	ID        uint64             `gorm:"primaryKey"`
	UserID    uint64             `gorm:"not null;uniqueIndex:idx_sub_user_target,priority:1"`
	Target    SubscriptionTarget `gorm:"size:16;not null;uniqueIndex:idx_sub_user_target,priority:2;index:idx_sub_target,priority:1"`
	TargetID  uint64             `gorm:"not null;uniqueIndex:idx_sub_user_target,priority:3;index:idx_sub_target,priority:2"`
	CreatedAt time.Time          `gorm:"not null"`
}

// Message is a notification in a citizen's message centre.
type Message struct {
	ID        uint64             `gorm:"primaryKey"`
	UserID    uint64             `gorm:"not null;index:idx_msg_user,priority:1"`
	Title     string             `gorm:"size:100;not null"`
	Body      string             `gorm:"size:1000;not null"`
	Target    SubscriptionTarget `gorm:"size:16;not null"`
	TargetID  uint64             `gorm:"not null"`
	ReadAt    *time.Time
	CreatedAt time.Time `gorm:"not null;index:idx_msg_user,priority:2"`
}
