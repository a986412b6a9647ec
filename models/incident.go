package models

import "time"

// Incident is an operations incident (8.6): a problem of the running
// platform that someone owns until it is resolved, opened by hand or from
// an alert, with its timeline. Package incident keeps its rules.
type Incident struct {
	ID       uint64 `gorm:"primaryKey"`
	Title    string `gorm:"size:100;not null"`
	Kind     string `gorm:"size:32;not null;index"`
	Severity string `gorm:"size:16;not null"`
	Status   string `gorm:"size:16;not null;index"`
	Summary  string `gorm:"size:1000;not null"`
	// AlertID is the interface alert it was opened from; an alert opens at
	// most one incident.
	AlertID   *uint64 `gorm:"uniqueIndex"`
	OwnerID   uint64  `gorm:"not null;default:0;index"`
	OpenedBy  uint64  `gorm:"not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
	// ResolvedAt is set while the incident is resolved.
	ResolvedAt *time.Time
}

// IncidentEvent is one step of an incident's timeline.
type IncidentEvent struct {
	ID         uint64    `gorm:"primaryKey"`
	IncidentID uint64    `gorm:"not null;index"`
	Action     string    `gorm:"size:16;not null"`
	FromStatus string    `gorm:"size:16;not null"`
	ToStatus   string    `gorm:"size:16;not null"`
	Note       string    `gorm:"size:1000;not null"`
	AdminID    uint64    `gorm:"not null"`
	At         time.Time `gorm:"not null"`
}

// Runbook is the handling guide for a kind of incident: where on-call
// staff read what to check and do.
type Runbook struct {
	Kind      string `gorm:"primaryKey;size:32"`
	Title     string `gorm:"size:100;not null"`
	URL       string `gorm:"size:500;not null"`
	UpdatedBy uint64 `gorm:"not null"`
	UpdatedAt time.Time
}

// IncidentTables are the tables of operations incidents.
var IncidentTables = []any{&Incident{}, &IncidentEvent{}, &Runbook{}}
