package models

import "time"

// AuditLog is one administrator mutation (8.2.4; 等保 security audit): who,
// what with which arguments (secrets redacted), the outcome, from where and
// when. Rows are only ever inserted: no code path updates or deletes them.
type AuditLog struct {
	ID        uint64 `gorm:"primaryKey"`
	AdminID   uint64 `gorm:"not null;index"`
	Username  string `gorm:"size:32;not null"`
	Operation string `gorm:"size:64;not null;index"`
	Arguments string `gorm:"type:text;not null"`
	Outcome   string `gorm:"size:32;not null"`
	IP        string `gorm:"size:64;not null"`
	// Before and After are the changed object as JSON (secrets redacted),
	// "" when the mutation names none or it did not exist.
	Before string    `gorm:"type:text"`
	After  string    `gorm:"type:text"`
	At     time.Time `gorm:"not null;index"`
}
