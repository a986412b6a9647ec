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
	// AuthMode is how the provider knows the caller (9.4.4): SIGNATURE
	// (requests signed with the platform key) or WHITELIST (the platform's
	// egress is whitelisted by the provider).
	AuthMode string `gorm:"size:16;not null;default:SIGNATURE"`
	// AuthKeyParam names the parameter that carries the provider's
	// authentication key (AuthKey, sealed by the master key; "" when none).
	// The key is sent to the provider only, never returned by a query.
	AuthKeyParam string `gorm:"size:64;not null;default:''"`
	AuthKey      string `gorm:"type:text"`
	// Health checks (9.4.3): the slow threshold (0: the default), when the
	// next check is due, the last outcome and how many checks in a row
	// went wrong.
	SlowMs      int        `gorm:"not null;default:0"`
	NextCheckAt *time.Time `gorm:"index"`
	LastCheckAt *time.Time
	LastOutcome string `gorm:"size:16;not null;default:''"`
	BadStreak   int    `gorm:"not null;default:0"`
	// HealthParams are the values health checks send for the request
	// parameters (sample values, never personal data). Uncheckable says a
	// required parameter has none (and is not a standard one): the
	// interface is then not checked on a schedule.
	HealthParams map[string]string `gorm:"serializer:json;type:text"`
	Uncheckable  bool              `gorm:"not null;default:false"`
	// CheckClaim marks the interfaces one run of the scheduler took.
	CheckClaim string `gorm:"size:32;not null;default:''"`
}

// InterfaceCheck is one health check of an interface (9.4.3).
type InterfaceCheck struct {
	ID          uint64    `gorm:"primaryKey"`
	InterfaceID uint64    `gorm:"not null;index:idx_interface_checks_at,priority:1"`
	CheckedAt   time.Time `gorm:"not null;index:idx_interface_checks_at,priority:2;index"`
	// Outcome is OK, SLOW, FAILED or TIMEOUT.
	Outcome   string `gorm:"size:16;not null"`
	LatencyMs int    `gorm:"not null"`
	Status    int    `gorm:"not null"`
	// Error says in words what went wrong ("" when nothing did).
	Error string `gorm:"size:300;not null"`
}

// InterfaceAlert is a warning raised by health checks: one open alert per
// interface and kind (SLOW, FAILED, TIMEOUT), counted up while the
// condition lasts, acknowledged and resolved by administrators.
type InterfaceAlert struct {
	ID          uint64 `gorm:"primaryKey"`
	InterfaceID uint64 `gorm:"not null;index"`
	Kind        string `gorm:"size:16;not null"`
	// Status is OPEN, ACKNOWLEDGED or RESOLVED.
	Status      string    `gorm:"size:16;not null;index"`
	Message     string    `gorm:"size:300;not null"`
	Count       int       `gorm:"not null"`
	FirstAt     time.Time `gorm:"not null"`
	LastAt      time.Time `gorm:"not null"`
	RecoveredAt *time.Time
	AckedBy     uint64 `gorm:"not null;default:0"`
	AckedAt     *time.Time
	ResolvedBy  uint64 `gorm:"not null;default:0"`
	ResolvedAt  *time.Time
	Note        string `gorm:"size:500;not null;default:''"`
}

// Lease is a named lease on scheduled work, so that of several replicas
// sharing the database one at a time does it.
type Lease struct {
	Name      string    `gorm:"primaryKey;size:64"`
	Holder    string    `gorm:"size:64;not null"`
	ExpiresAt time.Time `gorm:"not null"`
}

// SensitiveWord is one word of the administrators' sensitive-word list.
type SensitiveWord struct {
	ID        uint64    `gorm:"primaryKey"`
	Word      string    `gorm:"size:200;uniqueIndex;not null"`
	CreatedAt time.Time `gorm:"not null"`
}
