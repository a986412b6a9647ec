package models

import "time"

// KnowledgeEntry is a knowledge-base entry (知识库): a question citizens ask and
// the platform's answer, optionally about one matter (by the matter's
// catalogue template code, so one entry serves that matter in every region).
type KnowledgeEntry struct {
	ID         uint64    `gorm:"primaryKey"`
	Code       string    `gorm:"size:64;uniqueIndex;not null"`
	Question   string    `gorm:"size:300;not null"`
	Answer     string    `gorm:"type:text;not null"`
	Keywords   []string  `gorm:"serializer:json;type:text"`
	MatterCode string    `gorm:"size:64;not null;index"`
	CreatedAt  time.Time `gorm:"not null"`
	UpdatedAt  time.Time `gorm:"not null"`
}
