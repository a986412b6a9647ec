package models

import "time"

// License is an electronic licence (电子证照, 8.3.2 c) in a holder's wallet:
// issued by an agency (as a case result, or imported), its personal parts
// sealed by the master key, its content sealed by the issuing agency's
// electronic seal (SealRecordID) over the SM3 of its canonical document.
type License struct {
	ID           uint64 `gorm:"primaryKey"`
	HolderUserID uint64 `gorm:"not null;index"`
	Kind         string `gorm:"size:40;not null"`
	Title        string `gorm:"size:100;not null"`
	// NumberEnc and HolderNameEnc are sealed; Document is the canonical
	// JSON the seal covers, sealed as a whole.
	NumberEnc      string `gorm:"type:text;not null"`
	HolderNameEnc  string `gorm:"type:text;not null"`
	DocumentEnc    string `gorm:"type:text;not null"`
	DocumentSM3    string `gorm:"size:64;not null"`
	IssuerAgencyID uint64 `gorm:"not null;index"`
	IssuedBy       uint64 `gorm:"not null;default:0"`
	CaseID         uint64 `gorm:"not null;default:0"`
	SealRecordID   uint64 `gorm:"not null"`
	IssuedAt       time.Time
	ExpiresAt      *time.Time
	RevokedAt      *time.Time
	RevokeReason   string    `gorm:"size:300;not null;default:''"`
	CreatedAt      time.Time `gorm:"not null"`
}
