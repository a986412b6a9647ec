package models

import "time"

// Consultation is a citizen's consultation, complaint or suggestion (咨询、
// 投诉、建议, 8.1.2 d) about a matter or an agency: a draft until submitted,
// then assigned, replied to and closed by the agency's staff, every step
// recorded with its time (ConsultationEvent). Its statuses and kinds are
// those of package consult.
type Consultation struct {
	ID         uint64 `gorm:"primaryKey"`
	Number     string `gorm:"size:40;uniqueIndex;not null"`
	UserID     uint64 `gorm:"not null;index:idx_consultations_user_status,priority:1"`
	Kind       string `gorm:"size:16;not null"`
	MatterID   uint64 `gorm:"not null;index"`
	AgencyID   uint64 `gorm:"not null;index:idx_consultations_agency_status,priority:1"`
	Status     string `gorm:"size:16;not null;index:idx_consultations_user_status,priority:2;index:idx_consultations_agency_status,priority:2"`
	Title      string `gorm:"size:200;not null"`
	Content    string `gorm:"type:text;not null"`
	AssigneeID uint64 `gorm:"not null"`
	Reply      string `gorm:"type:text;not null"`
	// Rating is the citizen's rating of the reply (an evaluation.Level), ""
	// until rated.
	Rating        string     `gorm:"size:24;not null"`
	RatingComment string     `gorm:"size:500;not null"`
	CreatedAt     time.Time  `gorm:"not null"`
	UpdatedAt     time.Time  `gorm:"not null"`
	SubmittedAt   *time.Time `gorm:""`
	RepliedAt     *time.Time `gorm:""`
	RatedAt       *time.Time `gorm:""`
}

// ConsultationEvent is one step of a consultation.
type ConsultationEvent struct {
	ID             uint64    `gorm:"primaryKey"`
	ConsultationID uint64    `gorm:"not null;index"`
	Action         string    `gorm:"size:16;not null"`
	FromStatus     string    `gorm:"size:16;not null"`
	ToStatus       string    `gorm:"size:16;not null"`
	Actor          string    `gorm:"size:16;not null"`
	ActorID        uint64    `gorm:"not null"`
	Note           string    `gorm:"size:500;not null"`
	At             time.Time `gorm:"not null"`
}

// ConsultationFile is an attachment of a consultation, kept in the same
// content store and under the same rules as case materials.
type ConsultationFile struct {
	ID             uint64    `gorm:"primaryKey"`
	ConsultationID uint64    `gorm:"not null;index"`
	UserID         uint64    `gorm:"not null"`
	Name           string    `gorm:"size:200;not null"`
	ContentType    string    `gorm:"size:64;not null"`
	Size           int64     `gorm:"not null"`
	SM3            string    `gorm:"size:64;not null"`
	CreatedAt      time.Time `gorm:"not null"`
}
