package models

import "time"

// The things a citizen evaluates (好差评, 8.1.2 e).
const (
	EvaluateCase = "CASE" // a finished case, by its applicant
	EvaluateApp  = "APP"  // a service application, by any citizen who used it
)

// Evaluation is one citizen's rating of a case or an app. A case is rated
// once; after its rectification the citizen may rate it once more (Round
// 2), and only the newest round (Current) counts in the statistics. An
// evaluation whose agency's appeal was upheld (Voided) counts nowhere.
type Evaluation struct {
	ID       uint64   `gorm:"primaryKey"`
	UserID   uint64   `gorm:"not null;index;uniqueIndex:idx_evaluations_once,priority:3"`
	Target   string   `gorm:"size:8;not null;uniqueIndex:idx_evaluations_once,priority:1"`
	TargetID uint64   `gorm:"not null;uniqueIndex:idx_evaluations_once,priority:2"`
	Round    int      `gorm:"not null;uniqueIndex:idx_evaluations_once,priority:4"`
	Level    string   `gorm:"size:24;not null"`
	Tags     []string `gorm:"serializer:json;type:text"`
	Comment  string   `gorm:"size:500;not null"`
	// What the statistics group by: the case's matter and agency, or the
	// app; the region of the matter or app ("" for a nationwide app).
	MatterID   uint64    `gorm:"not null;index"`
	AgencyID   uint64    `gorm:"not null;index"`
	AppID      uint64    `gorm:"not null;index"`
	RegionCode string    `gorm:"size:6;not null;index"`
	Current    bool      `gorm:"not null"`
	Voided     bool      `gorm:"not null"`
	CreatedAt  time.Time `gorm:"not null"`
}

// Rectification (整改) follows a bad evaluation: the agency (or, for an app,
// the platform's administrators: AgencyID 0) records what it changed and
// replies by the deadline, or appeals a malicious review for an
// administrator's re-check. Its statuses are those of evaluation.Status.
type Rectification struct {
	ID           uint64    `gorm:"primaryKey"`
	EvaluationID uint64    `gorm:"not null;uniqueIndex"`
	UserID       uint64    `gorm:"not null;index"`
	AgencyID     uint64    `gorm:"not null;index:idx_rectifications_agency_status,priority:1"`
	Status       string    `gorm:"size:24;not null;index:idx_rectifications_agency_status,priority:2"`
	Deadline     time.Time `gorm:"not null"`
	Measures     string    `gorm:"size:1000;not null"`
	Reply        string    `gorm:"size:1000;not null"`
	AppealReason string    `gorm:"size:500;not null"`
	ReviewNote   string    `gorm:"size:500;not null"`
	HandledBy    uint64    `gorm:"not null"`
	// AppealedBy is the administrator who appealed (0: no appeal yet); an
	// agency appeals once, and not its own appeal is reviewed by them.
	AppealedBy  uint64     `gorm:"not null;default:0"`
	CreatedAt   time.Time  `gorm:"not null"`
	UpdatedAt   time.Time  `gorm:"not null"`
	RectifiedAt *time.Time `gorm:""`
}
