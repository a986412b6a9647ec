package models

import "time"

// InterfaceParam is one request or response parameter of a source
// interface, as example 7 of the standard lists them.
type InterfaceParam struct {
	Name        string `json:"name"`
	Required    bool   `json:"required"`
	Type        string `json:"type"`
	Description string `json:"description"`
}

// SourceInterface is an app's source interface registered in the interface
// management subsystem (8.2.2 a; 9.4): reviewed before it may be used. Its
// statuses are those of package iface.
type SourceInterface struct {
	ID             uint64           `gorm:"primaryKey"`
	AppID          uint64           `gorm:"not null;uniqueIndex:idx_interfaces_app_name,priority:1"`
	Name           string           `gorm:"size:100;not null;uniqueIndex:idx_interfaces_app_name,priority:2"`
	Address        string           `gorm:"size:500;not null"`
	Format         string           `gorm:"size:16;not null"`
	Method         string           `gorm:"size:8;not null"`
	Protocol       string           `gorm:"size:8;not null"`
	Remark         string           `gorm:"size:500;not null"`
	RequestParams  []InterfaceParam `gorm:"serializer:json;type:text"`
	ResponseParams []InterfaceParam `gorm:"serializer:json;type:text"`
	Status         string           `gorm:"size:16;not null;index"`
	// Flagged is set when a connectivity test's request or response held
	// words of the sensitive-word list (FlaggedWords), for the reviewer.
	Flagged      bool     `gorm:"not null"`
	FlaggedWords []string `gorm:"serializer:json;type:text"`
	ReviewNote   string   `gorm:"size:500;not null"`
	// RegisteredBy, LastEditedBy and SubmittedBy are the administrators
	// who wrote or sent it: none of them reviews it.
	RegisteredBy uint64    `gorm:"not null;default:0"`
	LastEditedBy uint64    `gorm:"not null;default:0"`
	SubmittedBy  uint64    `gorm:"not null"`
	ReviewedBy   uint64    `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
	UpdatedAt    time.Time `gorm:"not null"`
}

// SensitiveWord is one word of the administrators' sensitive-word list.
type SensitiveWord struct {
	ID        uint64    `gorm:"primaryKey"`
	Word      string    `gorm:"size:200;uniqueIndex;not null"`
	CreatedAt time.Time `gorm:"not null"`
}
