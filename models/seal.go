package models

import "time"

// Seal is an agency's electronic seal (电子印章, 8.3.2 b): its SM2 key pair
// (the private key sealed by the master key) and its certificate data, the
// canonical JSON every seal signature covers.
type Seal struct {
	ID         uint64 `gorm:"primaryKey"`
	AgencyID   uint64 `gorm:"not null;index"`
	Name       string `gorm:"size:100;not null"`
	PublicKey  string `gorm:"size:130;not null"`
	PrivateKey string `gorm:"type:text;not null"`
	CertData   string `gorm:"type:text;not null"`
	// CertMAC is an HMAC-SM3 of the public key and the certificate data
	// under the platform's key: a row rewritten in the database without
	// the master key does not verify.
	CertMAC string `gorm:"size:64;not null;default:''"`
	// ForDocuments marks the agency's seal for the documents the platform
	// seals for it (case results, licences): at most one per agency.
	ForDocuments bool       `gorm:"not null;default:false"`
	CreatedBy    uint64     `gorm:"not null"`
	CreatedAt    time.Time  `gorm:"not null"`
	RevokedAt    *time.Time `gorm:""`
}

// SealGrant lets an administrator or an app use a seal until a time.
type SealGrant struct {
	ID          uint64    `gorm:"primaryKey"`
	SealID      uint64    `gorm:"not null;index"`
	GranteeKind string    `gorm:"size:16;not null"` // ADMIN or APP
	GranteeID   uint64    `gorm:"not null"`
	ValidUntil  time.Time `gorm:"not null"`
	CreatedBy   uint64    `gorm:"not null"`
	CreatedAt   time.Time `gorm:"not null"`
	RevokedAt   *time.Time
}

// SealRecord is one sealing: the document's SM3 digest signed with the
// seal's key over its certificate data, at a time, by someone.
type SealRecord struct {
	ID          uint64    `gorm:"primaryKey"`
	SealID      uint64    `gorm:"not null;index"`
	DocumentSM3 string    `gorm:"size:64;not null;index"`
	SignedAt    time.Time `gorm:"not null"`
	Signature   string    `gorm:"size:200;not null"`
	// SignerKind is ADMIN, APP or SYSTEM (case results sealed on upload).
	SignerKind string `gorm:"size:16;not null"`
	SignerID   uint64 `gorm:"not null"`
	CaseFileID uint64 `gorm:"not null;default:0;index"`
	// Nonce makes each signature's message unique.
	Nonce string `gorm:"size:32;not null;default:''"`
}

// SealImage is a seal's imprint (印模), a PNG shown on sealed documents
// and in verification. It is only a picture: what proves a sealing is the
// SM2 signature, never the image.
type SealImage struct {
	SealID    uint64    `gorm:"primaryKey;autoIncrement:false"`
	PNG       []byte    `gorm:"type:blob;not null"`
	SM3       string    `gorm:"size:64;not null"`
	Width     int       `gorm:"not null"`
	Height    int       `gorm:"not null"`
	UpdatedBy uint64    `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}
