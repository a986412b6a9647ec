package models

import "time"

// FormAttributeType is the type of an application form's field.
type FormAttributeType string

// The field types of an application form (8.1.2 a).
const (
	FormString     FormAttributeType = "STRING"      // one line of text
	FormNumber     FormAttributeType = "NUMBER"      // a decimal number
	FormDateTime   FormAttributeType = "DATETIME"    // RFC 3339 time, or a date
	FormText       FormAttributeType = "TEXT"        // several lines of text
	FormSingleList FormAttributeType = "SINGLE_LIST" // one of the options
	FormMultiList  FormAttributeType = "MULTI_LIST"  // any of the options
)

// FormAttribute is one field of a matter's application form.
type FormAttribute struct {
	Key       string            `json:"key"`
	Label     string            `json:"label"`
	Type      FormAttributeType `json:"type"`
	Required  bool              `json:"required"`
	Order     int               `json:"order"`
	Options   []string          `json:"options,omitempty"`
	MaxLength int               `json:"maxLength,omitempty"`
	// Min, Max and Integer bound a number field.
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Integer bool     `json:"integer,omitempty"`
}

// MatterForm is the application form a matter declares; a matter without
// one uses the general form of package cases.
type MatterForm struct {
	MatterID   uint64          `gorm:"primaryKey"`
	Attributes []FormAttribute `gorm:"serializer:json;type:text"`
}

// Case is an application (办件): a draft until submitted, then handled by
// the matter's agency through the statuses of cases.Status.
type Case struct {
	ID       uint64 `gorm:"primaryKey"`
	Number   string `gorm:"size:40;uniqueIndex;not null"`
	UserID   uint64 `gorm:"not null;index:idx_cases_user_status,priority:1"`
	MatterID uint64 `gorm:"not null"`
	AgencyID uint64 `gorm:"not null;index:idx_cases_agency_status,priority:1"`
	Status   string `gorm:"size:24;not null;index:idx_cases_user_status,priority:2;index:idx_cases_agency_status,priority:2"`
	// Values are the form's values. They hold personal data (a contact
	// phone, an address), so they are sealed at rest in ValuesEnc, bound to
	// the applicant; package cases seals and opens them. LegacyValues are
	// the clear values of rows written before release 6, until resealed.
	Values       map[string]any `gorm:"-"`
	ValuesEnc    string         `gorm:"type:text"`
	LegacyValues map[string]any `gorm:"column:values;serializer:json;type:text"`
	CreatedAt    time.Time      `gorm:"not null"`
	UpdatedAt    time.Time      `gorm:"not null"`
	SubmittedAt  *time.Time
}

// CaseEvent is one step of a case's progress timeline.
type CaseEvent struct {
	ID         uint64    `gorm:"primaryKey"`
	CaseID     uint64    `gorm:"not null;index"`
	Action     string    `gorm:"size:24;not null"`
	FromStatus string    `gorm:"size:24;not null"`
	ToStatus   string    `gorm:"size:24;not null"`
	Actor      string    `gorm:"size:16;not null"`
	ActorID    uint64    `gorm:"not null"`
	Note       string    `gorm:"size:500;not null"`
	At         time.Time `gorm:"not null"`
}

// The kinds of case file.
const (
	CaseFileMaterial = "MATERIAL" // uploaded by the applicant
	CaseFileResult   = "RESULT"   // the result document, uploaded by the agency's staff
)

// CaseFile is a file of a case: a material the applicant uploaded, or a
// result document from the agency's staff. The content is stored once
// under the data directory, named by its SM3 digest; the type is what the
// content is, sniffed, never what the client said.
type CaseFile struct {
	ID     uint64 `gorm:"primaryKey"`
	CaseID uint64 `gorm:"not null;index"`
	// UserID is the case's applicant; StaffID the staff member who
	// uploaded a result document (0 for materials).
	UserID      uint64    `gorm:"not null"`
	Kind        string    `gorm:"size:16;not null;default:MATERIAL"`
	StaffID     uint64    `gorm:"not null;default:0"`
	Name        string    `gorm:"size:200;not null"`
	ContentType string    `gorm:"size:64;not null"`
	Size        int64     `gorm:"not null"`
	SM3         string    `gorm:"size:64;not null"`
	CreatedAt   time.Time `gorm:"not null"`
}
