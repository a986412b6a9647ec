package models

import "time"

// App is a service application (服务应用): a light app a citizen opens in the
// mobile terminal. The application management centre (8.2) owns its
// lifecycle; search (8.1.2 c) finds the online ones.
type App struct {
	ID             uint64           `gorm:"primaryKey"`
	Code           string           `gorm:"size:64;uniqueIndex;not null"`
	Name           string           `gorm:"size:200;not null"`
	Aliases        []string         `gorm:"serializer:json;type:text"`
	Summary        string           `gorm:"size:500;not null"`
	Category       string           `gorm:"size:64;not null"`
	ServiceObjects ServiceObjectSet `gorm:"not null"`
	// RegionCode is empty for an app offered nationwide.
	RegionCode string    `gorm:"size:6;not null;index"`
	URL        string    `gorm:"size:500;not null"`
	Online     bool      `gorm:"not null"`
	Popularity int       `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
	UpdatedAt  time.Time `gorm:"not null"`
}
